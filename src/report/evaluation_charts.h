#pragma once
/// Internal to src/report: the inline SVG charts of the HTML evaluation report. Each returns one
/// <svg> element (or "" when the record has nothing to draw) whose text is escaped; colours come
/// from CaseColor by the case's index in the record, so a case has one colour on the whole page.

#include <string>
#include <string_view>

#include "report/evaluation_headline.h"

namespace plaster::report::html {

/// Text for HTML and SVG: & < > " ' replaced by entities.
std::string Escape(std::string_view text);

/// The colour of case number index ("#4e79a7", ...), repeating after ten.
std::string CaseColor(size_t index);

/// The seven-axis PLASTER radar of one passed case: each axis is the cell's score (its figure
/// against the best case's, Note [Scores]); an unavailable letter is a dashed axis marked "n/a".
std::string RadarSvg(const eval::Row& row, size_t index);

/// The latency CDF of every passed case with samples.latency_ms, with p50 and p99 marked.
std::string LatencyCdfSvg(const eval::Record& record);

/// Latency against samples/s for the points of curves.server and curves.offline.
std::string ThroughputLatencySvg(const eval::Record& record);

/// FLOPs and parameters by op type, from the passed case of smallest batch with a size_by_op.
std::string SizeByOpSvg(const eval::Record& record);

/// The roofline: the memory slope and the compute roof of each case's peak, and each case's
/// point (intensity, achieved FLOP/s).
std::string RooflineSvg(const eval::Record& record);

}  // namespace plaster::report::html
