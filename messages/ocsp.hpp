// Messages of the OCSP responder actors (actors/ocsp_responder.hpp): which certificates a
// responder serves and for whom. Certificates travel as shared OpenSSL handles: local-only
// messages, never serialized.
// Not here: the responses themselves (ocsp/persist.hpp stored_response), status entries
// (status/snapshot.hpp stapling_info).
#pragma once

#include <string>
#include <vector>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>

#include "core/x509.hpp"
#include "status/snapshot.hpp"

namespace mda {

/// Registers certificates with a responder actor.
using staple_atom = caf::atom_constant<caf::atom("staple")>;
constexpr staple_atom staple_atom_v{};
/// An OCSP event of an owner ("ocsp-renewed", "ocsp-errored"), told to the responder's listener.
using ocsp_event_atom = caf::atom_constant<caf::atom("ocsp_event")>;
constexpr ocsp_event_atom ocsp_event_atom_v{};

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

} // namespace mda

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mda::ocsp_registration)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mda::stapling_info)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<mda::stapling_info>)
