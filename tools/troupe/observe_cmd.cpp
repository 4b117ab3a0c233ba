// troupe ps | info | tree | kill | metrics | top ADMIN: a running node seen
// from a terminal, through its admin API (troupe node --admin ADDR, or
// observer::serve in a program).
//
//   troupe ps 127.0.0.1:9090 [--sort mailbox] [--name PATTERN] [--limit N] [--json]
//   troupe info 127.0.0.1:9090 '<0.42.0>' [--json]     (a pid, an id or a registered name)
//   troupe tree 127.0.0.1:9090 [--json]
//   troupe kill 127.0.0.1:9090 '<0.42.0>' --token-file FILE
//   troupe metrics 127.0.0.1:9090
//   troupe top 127.0.0.1:9090 [--interval-ms 1000] [--sort mailbox|handled|memory] [--once]
//
// Why the admin API and not a hidden node connection (as erl -remsh and
// observer_cli do): the API is what the dashboard and Prometheus already
// read, so the three agree; it needs no cookie on the operator's machine
// for reading, and an action takes a token that can be handed out without
// handing out the cluster's cookie (which would let its holder join the
// cluster). The token comes from --token-file or TROUPE_ADMIN_TOKEN, never
// from the command line (other users see it in ps).
#include <poll.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "admin_client.hpp"

namespace {

using json = nlohmann::json;
using troupe::cli::admin_request;

struct common {
  std::string admin;
  std::string token_file;
  bool as_json = false;
  std::string token() const {
    if (!token_file.empty()) {
      std::ifstream in(token_file);
      if (!in) throw std::runtime_error("cannot read the token file " + token_file);
      std::string line;
      std::getline(in, line);
      // As the node reads it: trailing blanks and a CR (a file from Windows) are not the token's.
      while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.pop_back();
      return line;
    }
    const char* env = std::getenv("TROUPE_ADMIN_TOKEN");
    return env ? env : "";
  }
};

json get_json(const common& c, const std::string& path) {
  auto r = admin_request(c.admin, "GET", path, c.token());
  if (r.status != 200) throw std::runtime_error(path + ": " + std::to_string(r.status) + " " + r.body);
  return json::parse(r.body);
}

std::string human(double n) {
  char buf[32];
  if (n >= 1e9) std::snprintf(buf, sizeof buf, "%.1fG", n / 1e9);
  else if (n >= 1e6) std::snprintf(buf, sizeof buf, "%.1fM", n / 1e6);
  else if (n >= 1e4) std::snprintf(buf, sizeof buf, "%.1fk", n / 1e3);
  else std::snprintf(buf, sizeof buf, "%.0f", n);
  return buf;
}

std::string query_escape(const std::string& text) {
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '.' || c == '_' || c == '-' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

void print_processes(const json& page) {
  std::printf("%-14s %-28s %-9s %-9s %9s %10s %9s\n", "PID", "NAME", "KIND", "STATUS", "MAILBOX", "HANDLED", "MEMORY");
  for (const auto& p : page["processes"])
    std::printf("%-14s %-28.28s %-9s %-9s %9s %10s %9s\n", p["pid"].get<std::string>().c_str(),
                p["name"].get<std::string>().c_str(), p["kind"].get<std::string>().c_str(),
                p["status"].get<std::string>().c_str(), human(p["mailbox"].get<double>()).c_str(),
                human(p["handled"].get<double>()).c_str(), human(p["memory_bytes"].get<double>()).c_str());
}

void print_tree(const json& node, int depth) {
  std::string label = std::string(static_cast<std::size_t>(depth) * 2, ' ');
  if (node.contains("id")) label += node["id"].get<std::string>() + " ";
  if (node.contains("name") && !node["name"].get<std::string>().empty())
    label += "[" + node["name"].get<std::string>() + "] ";
  label += node.value("pid", "");
  label += node.value("kind", "") == "supervisor" ? " (supervisor)" : "";
  if (node.contains("running") && !node["running"].get<bool>()) label += " DOWN";
  if (node.value("restarts", 0) > 0)
    label += " restarts " + std::to_string(node["restarts"].get<std::uint64_t>()) + " (last: " +
             node.value("last_exit", "") + ")";
  if (node.contains("error")) label += " (" + node["error"].get<std::string>() + ")";
  std::printf("%s\n", label.c_str());
  if (node.contains("children"))
    for (const auto& c : node["children"]) print_tree(c, depth + 1);
}

// One frame of `top`; `before` is the previous frame's samples (rates).
void top_frame(const common& c, const std::string& sort, int rows, json& before) {
  const json o = get_json(c, "/api/overview");
  const json s = get_json(c, "/api/schedulers");
  const json p = get_json(c, "/api/processes?sort=" + sort + "&limit=" + std::to_string(rows));
  std::printf("\x1b[H\x1b[2J");  // home, clear
  std::printf("troupe top %s  node %s  up %.0f s  actors %s  queued %s  dead letters %s\n", c.admin.c_str(),
              o["node"].is_null() ? "-" : o["node"].get<std::string>().c_str(), o["uptime_seconds"].get<double>(),
              human(o["actors_alive"].get<double>()).c_str(), human(o["messages_queued"].get<double>()).c_str(),
              human(o["dead_letters"].get<double>()).c_str());
  double rate = 0;
  if (!before.is_null()) {
    const double dt = o["uptime_seconds"].get<double>() - before["overview"]["uptime_seconds"].get<double>();
    if (dt > 0)
      rate = (o["messages_handled"].get<double>() - before["overview"]["messages_handled"].get<double>()) / dt;
  }
  std::printf("messages/s %s\n\n", human(rate).c_str());
  std::printf("%-8s %12s %10s %10s %10s\n", "WORKER", "UTILIZATION", "TURNS", "STEALS", "RUNQUEUE");
  for (const auto& w : s["workers"]) {
    if (w["spare"].get<bool>() && w["turns"].get<std::uint64_t>() == 0) continue;
    std::string util = "-";
    if (!before.is_null())
      for (const auto& b : before["schedulers"]["workers"])
        if (b["index"] == w["index"]) {
          const double dt = s["uptime_seconds"].get<double>() - before["schedulers"]["uptime_seconds"].get<double>();
          const double slept = w["asleep_seconds"].get<double>() - b["asleep_seconds"].get<double>();
          if (dt > 0) util = std::to_string(static_cast<int>(100 * std::clamp(1 - slept / dt, 0.0, 1.0))) + "%";
        }
    std::printf("%-8s %12s %10s %10s %10s\n",
                (std::to_string(w["index"].get<int>()) + (w["spare"].get<bool>() ? "s" : "")).c_str(), util.c_str(),
                human(w["turns"].get<double>()).c_str(), human(w["steals"].get<double>()).c_str(),
                human(w["run_queue"].get<double>()).c_str());
  }
  std::printf("\nby %s:\n", sort.c_str());
  print_processes(p);
  std::printf("\n(q then Enter to quit)\n");
  std::fflush(stdout);
  before = {{"overview", o}, {"schedulers", s}};
}

// True when the user typed q (or stdin closed) within `wait`.
bool quit_within(std::chrono::milliseconds wait) {
  pollfd p{STDIN_FILENO, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(wait.count())) <= 0) return false;
  char buf[64];
  const ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
  if (n <= 0) return false;  // no terminal: run until interrupted
  for (ssize_t i = 0; i < n; ++i)
    if (buf[i] == 'q') return true;
  return false;
}

}  // namespace

int run_observer_command(int argc, char** argv) {
  const std::string command = argv[1];
  CLI::App app{"troupe " + command + ": a running node through its admin API", "troupe " + command};
  common c;
  app.add_option("admin", c.admin, "the node's admin address, HOST:PORT (troupe node --admin)")->required();
  app.add_option("--token-file", c.token_file, "a file whose first line is the admin token (else TROUPE_ADMIN_TOKEN)")
      ->check(CLI::ExistingFile);
  std::string who, sort = "id", name;
  std::size_t limit = 50;
  int interval_ms = 1000, rows = 15;
  bool once = false;
  const std::vector<std::string> sorts = {"id", "mailbox", "handled", "received", "memory", "name"};
  if (command == "ps") {
    app.description("lists the node's processes, a page at a time");
    app.add_option("--sort", sort, "order: id, mailbox, handled, received, memory or name")->check(CLI::IsMember(sorts));
    app.add_option("--name", name, "only processes whose name or pid contains this");
    app.add_option("--limit", limit, "rows to show (at most the server's page size)")->check(CLI::Range(1, 100000));
    app.add_flag("--json", c.as_json, "print the server's JSON");
  } else if (command == "info" || command == "kill") {
    app.description(command == "info" ? "describes one process" : "ends one process with reason kill (needs the token)");
    app.add_option("pid", who, "<0.N.0>, N, or a registered name")->required();
    if (command == "info") app.add_flag("--json", c.as_json, "print the server's JSON");
  } else if (command == "tree") {
    app.description("prints the supervision trees the node shows");
    app.add_flag("--json", c.as_json, "print the server's JSON");
  } else if (command == "metrics") {
    app.description("prints the node's Prometheus metrics");
  } else if (command == "top") {
    app.description("a live table of the node's schedulers and busiest processes");
    app.add_option("--interval-ms", interval_ms, "refresh period")->check(CLI::Range(100, 60000));
    app.add_option("--sort", sort, "processes by mailbox, handled or memory")
        ->check(CLI::IsMember({"mailbox", "handled", "memory", "received"}));
    app.add_option("--rows", rows, "processes shown")->check(CLI::Range(1, 1000));
    app.add_flag("--once", once, "print one frame and exit");
    sort = "mailbox";
  }
  try {
    app.parse(argc - 1, argv + 1);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    if (command == "ps") {
      std::string path = "/api/processes?sort=" + sort + "&limit=" + std::to_string(limit);
      if (!name.empty()) path += "&name=" + query_escape(name);
      const json page = get_json(c, path);
      if (c.as_json) {
        std::printf("%s\n", page.dump(2).c_str());
      } else {
        print_processes(page);
        std::printf("(%zu of %zu matched, %zu alive)\n", page["processes"].size(),
                    page["matched"].get<std::size_t>(), page["total"].get<std::size_t>());
      }
    } else if (command == "info") {
      const json p = get_json(c, "/api/processes/" + query_escape(who));  // the server decodes it
      if (c.as_json) {
        std::printf("%s\n", p.dump(2).c_str());
      } else {
        for (const char* k : {"pid", "name", "kind", "status", "mailbox", "received", "handled", "memory_bytes", "detached"})
          std::printf("%-13s %s\n", k, p[k].is_string() ? p[k].get<std::string>().c_str() : p[k].dump().c_str());
        std::printf("last events   %zu (tracing %s)\n", p["last_events"].size(),
                    p["last_events"].empty() ? "off or none" : "on");
        for (const auto& e : p["last_events"]) std::printf("  %s\n", e.dump().c_str());
      }
    } else if (command == "kill") {
      const std::string token = c.token();
      if (token.empty()) throw std::runtime_error("kill needs the admin token: --token-file FILE or TROUPE_ADMIN_TOKEN");
      auto r = admin_request(c.admin, "POST", "/api/processes/" + query_escape(who) + "/kill", token);
      if (r.status != 200) throw std::runtime_error("kill " + who + ": " + std::to_string(r.status) + " " + r.body);
      std::printf("killed %s\n", json::parse(r.body)["killed"].get<std::string>().c_str());
    } else if (command == "tree") {
      const json t = get_json(c, "/api/tree");
      if (c.as_json) {
        std::printf("%s\n", t.dump(2).c_str());
      } else {
        if (t["supervisors"].empty()) std::printf("(no supervision trees shown: admin_options::supervisors names their roots)\n");
        for (const auto& s : t["supervisors"]) print_tree(s, 0);
      }
    } else if (command == "metrics") {
      auto r = admin_request(c.admin, "GET", "/metrics", c.token());
      if (r.status != 200) throw std::runtime_error("/metrics: " + std::to_string(r.status) + " " + r.body);
      std::fwrite(r.body.data(), 1, r.body.size(), stdout);
    } else if (command == "top") {
      json before;
      for (;;) {
        top_frame(c, sort, rows, before);
        if (once || quit_within(std::chrono::milliseconds(interval_ms))) break;
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "troupe %s: %s\n", command.c_str(), e.what());
    return 1;
  }
  return 0;
}
