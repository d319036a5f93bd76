// Catch2 2.13's main, with a TAP reporter that reports test cases.
//
// Catch2's own TAP reporter writes one line per assertion, so meson would
// count thousands of "tests" and put raw byte expansions into its logs. This
// one writes one "ok"/"not ok" line per test case, the failed assertions of a
// case as TAP comments before it, and the plan at the end. A program may
// add a check that every test case must also pass once it has ended
// (case_end_check.hpp): the element tests look for leaked objects there.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#include <sstream>
#include <string>

#include "case_end_check.hpp"

namespace nagare::test {
std::string (*case_end_check)() = nullptr;
}

namespace {

class TestCaseTapReporter : public Catch::StreamingReporterBase<TestCaseTapReporter> {
 public:
  using StreamingReporterBase::StreamingReporterBase;

  static std::string getDescription() { return "TAP, one line per test case"; }

  void assertionStarting(const Catch::AssertionInfo&) override {}

  bool assertionEnded(const Catch::AssertionStats& stats) override {
    const Catch::AssertionResult& result = stats.assertionResult;
    if (result.isOk()) return true;
    std::ostringstream what;
    what << result.getSourceInfo() << ": ";
    if (result.hasExpression())
      what << result.getExpressionInMacro() << " with expansion " << result.getExpandedExpression();
    if (result.hasMessage()) what << ' ' << result.getMessage();
    for (const auto& info : stats.infoMessages) what << " [" << info.message << ']';
    failures_ << comment(what.str());
    return true;
  }

  void testCaseEnded(const Catch::TestCaseStats& stats) override {
    ++count_;
    const std::string after = nagare::test::case_end_check ? nagare::test::case_end_check() : std::string();
    if (!after.empty()) failures_ << comment(after);
    stream << failures_.str();
    failures_.str({});
    const bool ok = stats.totals.assertions.allOk() && after.empty();
    stream << (ok ? "ok " : "not ok ") << count_ << " - " << one_line(stats.testInfo.name) << '\n' << std::flush;
    StreamingReporterBase::testCaseEnded(stats);
  }

  void testRunEnded(const Catch::TestRunStats& stats) override {
    stream << "1.." << count_ << '\n';
    StreamingReporterBase::testRunEnded(stats);
  }

 private:
  // TAP lines are lines: newlines and bytes that are not printable ASCII are
  // escaped so logs stay valid text.
  static std::string one_line(const std::string& s) {
    std::string out;
    for (unsigned char c : s) {
      if (c >= 0x20 && c < 0x7f) {
        out += static_cast<char>(c);
      } else {
        static const char* hex = "0123456789abcdef";
        out += "\\x";
        out += hex[c >> 4];
        out += hex[c & 15];
      }
    }
    return out;
  }
  static std::string comment(const std::string& s) { return "# " + one_line(s) + '\n'; }

  std::size_t count_ = 0;
  std::ostringstream failures_;
};

}  // namespace

CATCH_REGISTER_REPORTER("tap-cases", TestCaseTapReporter)
