// Messages of the OCSP responder actors (actors/ocsp_responder.hpp): which certificates a
// responder serves and for whom. Certificates travel as shared OpenSSL handles: local-only
// messages, never serialized.
// Not here: the responses themselves (ocsp/persist.hpp stored_response), status entries
// (status/snapshot.hpp stapling_info).
#pragma once

#include <map>
#include <string>
#include <vector>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/actor.hpp>
#include <caf/atom.hpp>

#include "core/x509.hpp"
#include "status/snapshot.hpp"

namespace mda {

/// Registers certificates with a responder actor.
using staple_atom = caf::atom_constant<caf::atom("staple")>;
constexpr staple_atom staple_atom_v{};

/// One certificate to staple: the leaf and the certificate that issued it.
struct ocsp_cert {
  certificate leaf;
  certificate issuer;
};

/// The certificates of one owner at one responder.
struct ocsp_registration {
  std::string owner;            ///< the MD name, or "other" (MDStapleOthers)
  std::vector<ocsp_cert> certs; ///< all of the owner's certificates at this responder
  /// true: `certs` replaces what the owner had registered (an MD after renewal; empty =
  /// unregister); false: `certs` are added (certificates of other vhosts, one at a time).
  bool replace = true;
};

/// The domain actors the stapling actor tells of revocations, by MD name. The handle type is
/// left open here (messages/ holds no actor interfaces): see actors/ocsp_stapling.hpp.
struct ocsp_domains {
  std::map<std::string, caf::actor> by_name;
};

} // namespace mda

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mda::ocsp_domains)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mda::ocsp_registration)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mda::stapling_info)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<mda::stapling_info>)
