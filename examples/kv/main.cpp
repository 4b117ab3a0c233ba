// troupe-kv: a Redis-compatible key-value server (RESP2) on troupe.
//
//   troupe_kv [--port 6380] [--host 127.0.0.1] [--workers N] [--io-threads 1] [--shards N]
//
// Serves until SIGINT or SIGTERM. Works with redis-cli and redis-benchmark.
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>

#include "server.hpp"
#include "troupe/io.hpp"

int main(int argc, char** argv) {
  std::string host = "127.0.0.1";
  int port = 6380, io_threads = 1;
  troupe::config cfg;
  cfg.warn_unhandled = false;
  unsigned shards = 0;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << "troupe_kv: " << a << " needs a value\n";
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--port") port = std::stoi(next());
    else if (a == "--host") host = next();
    else if (a == "--workers") cfg.workers = static_cast<unsigned>(std::stoul(next()));
    else if (a == "--io-threads") io_threads = std::stoi(next());
    else if (a == "--shards") shards = static_cast<unsigned>(std::stoul(next()));
    else {
      std::cerr << "usage: troupe_kv [--port N] [--host ADDR] [--workers N] [--io-threads N] [--shards N]\n";
      return 2;
    }
  }
  // Block the stop signals before any thread starts, then wait for one.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  troupe::runtime rt(cfg);
  troupe::io::reactor io(rt, {.threads = static_cast<unsigned>(io_threads)});
  auto info = std::make_shared<kv::server_info>();
  troupe::io::listener server;
  try {
    server = kv::serve(io, {host, static_cast<std::uint16_t>(port)}, shards ? shards : rt.worker_count(), info);
  } catch (const std::exception& e) {
    std::cerr << "troupe_kv: " << e.what() << '\n';
    return 1;
  }
  info->port = server.local().port;
  std::cout << "troupe_kv listening on " << server.local().to_string() << " (" << rt.worker_count()
            << " workers)" << std::endl;
  int sig = 0;
  sigwait(&stop, &sig);
  std::cout << "troupe_kv: stopping (" << strsignal(sig) << ")" << std::endl;
  server.close();
  io.stop();
}
