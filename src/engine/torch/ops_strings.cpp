// Ops on string tensors, which ATen lacks: they run as value kernels on StringTensor (kernel.h).
// StringNormalizer: drop stopwords (optionally case-insensitively), then change case.
//
// Case mapping is Unicode's simple (one code point to one) mapping as glibc's C.UTF-8 locale
// gives it, for every string whatever the node's `locale` attribute names; invalid UTF-8 is an
// error naming the element, never silently mangled.

#include <locale.h>
#include <onnx/onnx_pb.h>
#include <wctype.h>

#include <set>
#include <string>
#include <vector>

#include "engine/torch/kernel.h"
#include "engine/torch/ops_util.h"

namespace plaster::engine::torch_engine {

namespace {

// The C.UTF-8 locale for towlower_l/towupper_l; nullptr when the system has none.
locale_t Utf8Locale() {
  static const locale_t locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(0));
  return locale;
}

// Decodes UTF-8 into code points; false for invalid UTF-8.
bool Decode(const std::string& s, std::u32string* out) {
  out->clear();
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const size_t extra = c < 0x80         ? 0
                         : (c >> 5) == 6  ? 1
                         : (c >> 4) == 14 ? 2
                         : (c >> 3) == 30 ? 3
                                          : 4;
    if (extra == 4) return false;
    char32_t cp = c & (0x7F >> extra);  // the lead byte's payload bits
    for (size_t k = 1; k <= extra; ++k) {
      if (i + k >= s.size()) return false;
      const auto b = static_cast<unsigned char>(s[i + k]);
      if ((b >> 6) != 2) return false;
      cp = (cp << 6) | (b & 0x3F);
    }
    out->push_back(cp);
    i += extra + 1;
  }
  return true;
}

void Encode(char32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

enum class Case { kNone, kLower, kUpper };

// s with its case changed; RunError for invalid UTF-8.
std::string ChangeCase(const std::string& s, Case to, size_t index) {
  if (to == Case::kNone) return s;
  std::u32string cps;
  if (!Decode(s, &cps))
    RunError(fmt::format("StringNormalizer: element {} is not valid UTF-8", index));
  std::string out;
  for (char32_t cp : cps) {
    const auto w = static_cast<wint_t>(cp);
    Encode(static_cast<char32_t>(to == Case::kLower ? towlower_l(w, Utf8Locale())
                                                    : towupper_l(w, Utf8Locale())),
           &out);
  }
  return out;
}

ValueKernel BuildStringNormalizer(const NodeView& n) {
  const std::string action = n.String("case_change_action", "NONE");
  Case to = Case::kNone;
  if (action == "LOWER") {
    to = Case::kLower;
  } else if (action == "UPPER") {
    to = Case::kUpper;
  } else if (action != "NONE") {
    n.Fail("case_change_action '{}' is not LOWER, UPPER or NONE", action);
  }
  const bool sensitive = n.Int("is_case_sensitive", 0) != 0;
  if (Utf8Locale() == static_cast<locale_t>(0)) n.Fail("this system has no C.UTF-8 locale");
  std::set<std::string> stopwords;
  if (const auto* a = n.node().proto) {
    for (const auto& attr : a->attribute()) {
      if (attr.name() != "stopwords") continue;
      for (size_t k = 0; k < static_cast<size_t>(attr.strings_size()); ++k) {
        const std::string& w = attr.strings(static_cast<int>(k));
        stopwords.insert(sensitive ? w : ChangeCase(w, Case::kLower, k));
      }
    }
  }
  return [to, sensitive, stopwords](const Values& in) -> Values {
    if (in.empty() || !in[0].strings) RunError("StringNormalizer: input 0 is not a string tensor");
    const StringTensor& x = *in[0].strings;
    const bool rows = x.shape.size() == 2;
    if (!(x.shape.size() == 1 || (rows && x.shape[0] == 1))) {
      RunError(fmt::format("StringNormalizer takes shape [C] or [1, C], not {}", Join(x.shape)));
    }
    auto y = std::make_shared<StringTensor>();
    for (size_t k = 0; k < x.values.size(); ++k) {
      const std::string& s = x.values[k];
      if (stopwords.count(sensitive ? s : ChangeCase(s, Case::kLower, k))) continue;
      y->values.push_back(ChangeCase(s, to, k));
    }
    // All dropped: one empty string, as ONNX specifies.
    if (y->values.empty()) y->values.emplace_back();
    const auto c = static_cast<int64_t>(y->values.size());
    y->shape = rows ? std::vector<int64_t>{1, c} : std::vector<int64_t>{c};
    return {Value{at::Tensor(), nullptr, std::move(y)}};
  };
}

}  // namespace

void AddStringOps(std::vector<OpEntry>* t) {
  t->push_back({"StringNormalizer", nullptr, 10, 1000, BuildStringNormalizer});
}

}  // namespace plaster::engine::torch_engine
