// The directive table of mod_mdactor and the configuration records behind it: every mod_md
// directive of reference §1.3 (47 names, the deprecated MDDriveMode, MDMember, MDMembers and
// <MDomainSet> included) plus mdactor's extensions MDRenewParallel and MDCommandTimeout, with
// mod_md's scopes (§1.1) and error texts (httpd prints them as "Syntax error on line N of
// <file>:" followed by the text).
//
// Records: one module_conf per configuration pass (created with the first server config in
// pconf, deleted with pconf: nothing survives a graceful restart), one server_conf per
// server_rec (C++ objects owned by the pool through cleanups).
// Not here: what the settings do (config_build.hpp computes the MDs; hooks in mod_mdactor.cpp).
#pragma once

#include <httpd.h>
#include <http_config.h>

#include "httpd/config.hpp"

extern "C" {
extern module AP_MODULE_DECLARE_DATA md_module;
}

namespace mda::httpd {

/// The command table, terminated by an entry with a null name.
extern const command_rec k_directives[];

/// create_server_config / merge_server_config of the module.
void* create_server_conf(apr_pool_t* p, server_rec* s);
void* merge_server_conf(apr_pool_t* p, void* base, void* add);

/// The record of `s` (never null once the configuration was read).
server_conf* get_server_conf(const server_rec* s);

/// The module-wide settings of the configuration pass in progress or last read; null before
/// any server config was created.
module_conf* get_module_conf();

} // namespace mda::httpd
