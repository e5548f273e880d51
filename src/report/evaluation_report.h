#pragma once
/// Renderings of an evaluation record (docs/json-evaluation.md, the document form
/// {schema, schema_version, context, cases, recommendation}). Each works from the parsed JSON
/// alone, so a report can be made again, in any format, from a record stored long ago.
///
/// Every function throws plaster::Error when the record is malformed (a missing field, a wrong
/// type), naming the field and the case; no other exception escapes. They keep no state and may
/// run on several threads at once.
///
/// What each shows is in docs/cli.md ("Report formats").

#include <nlohmann/json.hpp>
#include <ostream>
#include <string>

namespace plaster::report {

/// The terminal scorecard: a title line, one row per case with each letter's headline figure (the
/// best of each column marked: bold when color is true, a trailing '*' when it is false), the
/// reasons of cases that did not pass, footnotes for letters shown as n/a, warnings, and the
/// recommendation. color adds ANSI escapes and nothing else.
void PrintScorecard(const nlohmann::json& record, std::ostream& out, bool color);

/// The same scorecard as GitHub-flavoured Markdown (best values in bold); record text is escaped
/// so that it cannot break the table or add links and HTML.
std::string ScorecardMarkdown(const nlohmann::json& record);

/// One row per case, one column per metric name (the union over cases, in order of first
/// appearance), the unit in the header ("latency.p99 [ms]"), after the columns id, engine,
/// device, precision, batch, threads, status, reason. RFC 4180: CRLF line ends, fields with
/// a comma, quote or line break quoted, quotes doubled. A metric a case lacks, or whose value is
/// null, is an empty field.
std::string ScorecardCsv(const nlohmann::json& record);

/// One self-contained HTML page (no network, fonts or scripts; charts are inline SVG): the
/// context, the scorecard, a PLASTER radar per case, latency CDFs, throughput against latency,
/// the size by op type, and the roofline. All record text is escaped; a Content-Security-Policy
/// forbids scripts and fetches, so the page stays inert whatever the record holds.
std::string EvaluationHtml(const nlohmann::json& record);

/// The result of `plaster optimize` (a record with "optimization"): the accuracy of each engine
/// and precision with its verdict, every timed configuration (p99 latency, throughput, the Pareto
/// front marked), why each batch ladder stopped, and the recommendation. plaster::Error for a
/// record without "optimization".
void PrintOptimization(const nlohmann::json& record, std::ostream& out);

}  // namespace plaster::report
