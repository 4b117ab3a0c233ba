// troupe-http: an HTTP/1.1 server made of a service and filters.
//
//   troupe_http [--port 8080] [--host 127.0.0.1] [--workers N] [--io-threads N]
//
// One I/O thread per core by default, as nginx runs one worker per core:
// the connections' reads and writes are spread over the cores (with one
// I/O thread, 500 connections or a connection per request made that thread
// the bottleneck). One of them accepts.
//
//   GET  /         "hello"
//   POST /echo     the request's body back
//   GET  /metrics  Prometheus text: the runtime's and the server's counters
//
// Keep-alive, pipelining and chunked bodies come from the codec; limits on
// header and body sizes are answered 431/413 by the codec before the service
// sees anything. Works with curl and wrk. Serves until SIGINT or SIGTERM.
#include <algorithm>
#include <cstring>
#include <iostream>
#include <memory>
#include <string>
#include <thread>

#include "troupe/async/service.hpp"
#include "troupe/async/stats.hpp"
#include "troupe/async/timeout.hpp"
#include "troupe/async/timer_source.hpp"
#include "troupe/core/stop_signals.hpp"
#include "troupe/io.hpp"
#include "troupe/io/codecs/http.hpp"
#include "server_main.hpp"

namespace http = troupe::io::http;

namespace {

std::string metrics(troupe::runtime& rt, const troupe::stats& s) {
  auto line = [](const std::string& name, const std::string& help, const std::string& type, double v) {
    return "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n" + name + " " +
           std::to_string(v) + "\n";
  };
  std::string out;
  out += line("troupe_live_actors", "Actors alive in the runtime.", "gauge", static_cast<double>(rt.live_actors()));
  out += line("troupe_dead_letters_total", "Messages that reached no actor.", "counter",
              static_cast<double>(rt.dead_letter_count()));
  out += line("troupe_workers", "Worker threads running actors.", "gauge", rt.worker_count());
  out += line("troupe_http_requests_total", "Requests answered by the service.", "counter",
              static_cast<double>(s.requests()));
  out += line("troupe_http_request_failures_total", "Requests whose service call failed.", "counter",
              static_cast<double>(s.failures()));
  out += "# HELP troupe_http_request_seconds Service latency quantiles.\n# TYPE troupe_http_request_seconds summary\n";
  for (double q : {0.5, 0.9, 0.99})
    out += "troupe_http_request_seconds{quantile=\"" + std::to_string(q).substr(0, 4) + "\"} " +
           std::to_string(std::chrono::duration<double>(s.percentile(q)).count()) + "\n";
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  auto args = examples::parse_server_args("troupe_http", 8080, false, argc, argv,
                                          std::max(1u, std::thread::hardware_concurrency()));
  troupe::block_stop_signals();  // a signal while starting waits for the stop below

  troupe::runtime rt(args.runtime);
  troupe::io::reactor io(rt, examples::reactor_options_of(args));
  troupe::runtime_timers timers(rt);
  auto counters = std::make_shared<troupe::stats>();

  troupe::service<http::request, http::response> routes = [&rt, counters](http::request req) {
    std::string path = req.target.substr(0, req.target.find('?'));
    if (path == "/") return http::response::text(200, "hello");
    if (path == "/echo") {
      if (req.method != "POST" && req.method != "PUT") return http::response::text(405, "POST a body to echo it\n");
      auto type = req.find_header("Content-Type");
      return http::response::text(200, std::move(req.body), type ? *type : "application/octet-stream");
    }
    if (path == "/metrics") return http::response::text(200, metrics(rt, *counters), "text/plain; version=0.0.4");
    return http::response::text(404, "not found: " + path + "\n");
  };
  auto app = troupe::stats_filter(counters) | troupe::timeout(timers, std::chrono::seconds(5)) | routes;

  troupe::io::serve_options<http::response> opts;
  opts.on_error = [](const troupe::error& e) {
    return http::response::text(e == troupe::errc::timeout ? 504 : 500, e.message() + "\n");
  };
  troupe::io::listener server;
  try {
    server = troupe::io::serve<http::server_codec>(io, {args.host, static_cast<std::uint16_t>(args.port)}, app, opts);
  } catch (const std::exception& e) {
    std::cerr << "troupe_http: " << e.what() << '\n';
    return 1;
  }
  std::cout << "troupe_http listening on http://" << server.local().to_string() << "/ (" << rt.worker_count()
            << " workers)" << std::endl;
  std::cout << "troupe_http: stopping (" << strsignal(troupe::wait_for_stop_signal()) << ")" << std::endl;
  server.close();
  io.stop();
}
