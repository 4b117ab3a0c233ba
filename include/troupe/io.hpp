// The io layer: an event loop (reactor), sockets that are actors, codecs,
// and servers and clients made of a codec and a service.
#pragma once

#include "troupe/io/codec.hpp"
#include "troupe/io/codecs/length_prefixed.hpp"
#include "troupe/io/codecs/line.hpp"
#include "troupe/io/connection.hpp"
#include "troupe/io/endpoint.hpp"
#include "troupe/io/reactor.hpp"
#include "troupe/io/server.hpp"
#include "troupe/io/tcp.hpp"
#include "troupe/io/udp.hpp"
