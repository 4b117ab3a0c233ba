// What the example servers' main()s share: their command line. (They wait
// for SIGINT or SIGTERM with troupe::wait_for_stop_signal.)
#pragma once

#include <sys/resource.h>

#include <cctype>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <stdexcept>
#include <string>

#include "troupe/core/config.hpp"
#include "troupe/io/reactor.hpp"

namespace examples {

struct server_args {
  std::string host = "127.0.0.1";
  int port = 0;
  troupe::config runtime;
  unsigned io_threads = 1;  // parse_server_args' default_io_threads unless given
  int io_spin_us = -1;      // --io-spin-us: reactor_options::spin; -1 keeps its default
  unsigned shards = 0;  // kv only; 0: one per worker
  std::size_t maxmemory = 0;  // kv only; bytes, 0: no limit
};

// "100mb", "2gb", "512k", "1048576": bytes (Redis's units, 1024-based).
inline std::size_t parse_bytes(const std::string& text) {
  std::size_t used = 0;
  const unsigned long long n = std::stoull(text, &used);
  std::string unit = text.substr(used);
  for (char& c : unit) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (unit.empty() || unit == "b") return n;
  if (unit == "k" || unit == "kb") return n << 10;
  if (unit == "m" || unit == "mb") return n << 20;
  if (unit == "g" || unit == "gb") return n << 30;
  throw std::invalid_argument("unknown unit in '" + text + "'");
}

// Raises the soft limit on open files to the hard limit, as Go's runtime
// does at start: a server's connection cap (io::socket_options::
// max_connections) follows the soft limit, whose default (1,024) is low.
inline void raise_open_file_limit() {
  rlimit files{};
  if (::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &files);
  }
}

// --port N --host ADDR --workers N --io-threads N --io-spin-us N [--shards N]. Exits with
// usage on anything else. Also raises the open-file limit (above).
inline server_args parse_server_args(const char* name, int default_port, bool takes_shards, int argc,
                                     char** argv, unsigned default_io_threads = 1) {
  raise_open_file_limit();
  server_args a;
  a.port = default_port;
  a.io_threads = default_io_threads;
  a.runtime.warn_unhandled = false;
  std::string usage = std::string("usage: ") + name + " [--port N] [--host ADDR] [--workers N] [--io-threads N]" +
                      (takes_shards ? " [--shards N] [--maxmemory BYTES]" : "");
  for (int i = 1; i < argc; ++i) {
    std::string opt = argv[i];
    if (i + 1 >= argc) {
      std::cerr << usage << '\n';
      std::exit(2);
    }
    std::string value = argv[++i];
    bool known = true;
    try {
      if (opt == "--port") a.port = std::stoi(value);
      else if (opt == "--host") a.host = value;
      else if (opt == "--workers") a.runtime.workers = static_cast<unsigned>(std::stoul(value));
      else if (opt == "--io-threads") a.io_threads = static_cast<unsigned>(std::stoul(value));
      else if (opt == "--io-spin-us") a.io_spin_us = std::stoi(value);
      else if (opt == "--shards" && takes_shards) a.shards = static_cast<unsigned>(std::stoul(value));
      else if (opt == "--maxmemory" && takes_shards) a.maxmemory = parse_bytes(value);
      else known = false;
    } catch (const std::exception&) {
      std::cerr << name << ": bad value '" << value << "' for " << opt << '\n';
      known = false;
    }
    if (!known) {
      std::cerr << usage << '\n';
      std::exit(2);
    }
  }
  return a;
}

// The reactor's options from the command line.
inline troupe::io::reactor_options reactor_options_of(const server_args& a) {
  troupe::io::reactor_options o;
  o.threads = a.io_threads;
  if (a.io_spin_us >= 0) o.spin = std::chrono::microseconds(a.io_spin_us);
  return o;
}

}  // namespace examples
