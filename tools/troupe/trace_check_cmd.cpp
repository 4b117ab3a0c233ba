// troupe trace check FILE --spec TEXT | --spec-file FILE [--window N]
//
// Checks a saved trace (JSON lines: `troupe trace NODE --format jsonl`, or
// tracing::file_sink) against temporal rules written as text
// (troupe/core/trace_spec.hpp). Prints each violation with the events
// before it; exit status 0 when every rule holds, 1 when one is broken,
// 2 for a spec or file that is not one (with what is wrong, and where).
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "troupe/core/trace_check.hpp"
#include "troupe/core/trace_file.hpp"
#include "troupe/core/trace_spec.hpp"

namespace {

std::string read_all(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::invalid_argument("cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

int run_trace_check(int argc, char** argv) {
  using namespace troupe::tracing;
  std::string file, spec;
  std::size_t window = 8;
  for (int i = 3; i < argc; ++i) {
    const std::string flag = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(flag + " needs a value");
      return argv[++i];
    };
    if (flag == "--spec")
      spec += value() + "\n";
    else if (flag == "--spec-file")
      spec += read_all(value()) + "\n";
    else if (flag == "--window")
      window = std::stoul(value());
    else if (flag.rfind("--", 0) != 0 && file.empty())
      file = flag;
    else
      throw std::invalid_argument("unknown option " + flag);
  }
  if (file.empty() || spec.empty()) {
    std::fprintf(stderr, "usage: troupe trace check FILE.jsonl --spec '\"name\": formula; ...' | --spec-file FILE"
                         " [--window N]\n");
    return 2;
  }
  std::vector<rule> rules;
  try {
    rules = parse_rules(spec);
  } catch (const spec_error& e) {
    std::fprintf(stderr, "troupe trace check: %s\n", e.what());
    return 2;
  }
  std::ifstream in(file);
  if (!in) {
    std::fprintf(stderr, "troupe trace check: cannot read %s\n", file.c_str());
    return 2;
  }
  std::vector<event> events;
  try {
    events = read_jsonl(in);
  } catch (const trace_file_error& e) {
    std::fprintf(stderr, "troupe trace check: %s: %s\n", file.c_str(), e.what());
    return 2;
  }
  // In time order: a sink writes in batches, and a thread that stamped an
  // event may write it after a later batch went out.
  std::stable_sort(events.begin(), events.end(), [](const event& a, const event& b) { return a.time_ns < b.time_ns; });
  const auto broken = check(events, rules, window);
  for (const auto& v : broken) std::cout << to_string(v) << '\n';
  std::cout << "checked " << events.size() << " events against " << rules.size() << " rule(s): " << broken.size()
            << " violation(s)" << std::endl;
  return broken.empty() ? 0 : 1;
}
