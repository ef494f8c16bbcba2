// Timelines drawn as one SVG picture, by our own small writer: md-replay --svg writes the
// document, the md-status page (status_page.hpp) puts the element inline.
//
// - One lane per timeline (MD and job kind), labelled on the left; a shared time axis from the
//   oldest to the newest step (and next-run), with its two end times written below.
// - One circle per step, coloured by entry type: starting blue, finished green, progress
//   grey, message-* purple, *-error red, others black. Each carries a <title> (time, type,
//   detail) for viewers that show tooltips. Run starts are labelled "#N"; error steps get a
//   red "!" label. A pending next-run is an orange ring.
// - Steps at the same x are spread vertically by at most a few pixels so they stay visible.
// Not here: reading jobs or building timelines (timeline.hpp).
#pragma once

#include <string>
#include <vector>

#include "status/timeline.hpp"

namespace mda::replay {

/// The fill colour of a step's mark.
const char* step_colour(const std::string& type);

/// Text escaped for XML content and attribute values (&, <, >, ", ').
std::string xml_escape(const std::string& s);

/// The whole SVG document (with the XML declaration), width 1000 px.
std::string render_svg(const std::vector<timeline>& tls);

/// The <svg> element alone (no XML declaration), for inline use in HTML.
std::string render_svg_element(const std::vector<timeline>& tls);

} // namespace mda::replay
