// A user's socket program against an installed troupe: a line echo server
// and a client of it, in one process.
#include <iostream>

#include "troupe/io.hpp"
#include "troupe/troupe.hpp"

int main() {
  namespace io = troupe::io;
  troupe::runtime rt;
  io::reactor reactor(rt);
  auto server = io::listen<io::line_codec>(reactor, {"127.0.0.1", 0},
      [](troupe::actor&, io::connection<io::line_codec> conn) -> troupe::behavior {
        return {[conn](std::string& line) mutable { conn.write("echo " + line); }};
      });
  auto call = io::client<io::line_codec>(reactor, server.local()).get();
  std::cout << call("over tcp").get() << '\n';
}
