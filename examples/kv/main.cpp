// troupe-kv: a Redis-compatible key-value server (RESP2) on troupe.
//
//   troupe_kv [--port 6380] [--host 127.0.0.1] [--workers N] [--io-threads 1] [--shards N]
//
// Serves until SIGINT or SIGTERM. Works with redis-cli and redis-benchmark.
#include <cstring>
#include <iostream>
#include <string>

#include "server.hpp"
#include "server_main.hpp"
#include "troupe/io.hpp"

int main(int argc, char** argv) {
  auto args = examples::parse_server_args("troupe_kv", 6380, true, argc, argv);
  troupe::block_stop_signals();  // a signal while starting waits for the stop below

  troupe::runtime rt(args.runtime);
  troupe::io::reactor io(rt, examples::reactor_options_of(args));
  auto info = std::make_shared<kv::server_info>();
  troupe::io::listener server;
  try {
    server = kv::serve(io, {args.host, static_cast<std::uint16_t>(args.port)},
                       args.shards ? args.shards : rt.worker_count(), info, kv::limits{.maxmemory = args.maxmemory});
  } catch (const std::exception& e) {
    std::cerr << "troupe_kv: " << e.what() << '\n';
    return 1;
  }
  info->port = server.local().port;
  std::cout << "troupe_kv listening on " << server.local().to_string() << " (" << rt.worker_count()
            << " workers)" << std::endl;
  std::cout << "troupe_kv: stopping (" << strsignal(troupe::wait_for_stop_signal()) << ")" << std::endl;
  server.close();
  io.stop();
}
