// Every option struct a user fills with designated initializers, as the
// README writes them, one field at a time: compiled with -Wall -Wextra
// -Werror (-Wmissing-field-initializers warns for a member left out that
// has no default member initializer). Nothing runs; it must compile.
#include "troupe/async.hpp"
#include "troupe/io.hpp"
#include "troupe/io/tls.hpp"
#include "troupe/net.hpp"
#include "troupe/sync.hpp"
#include "troupe/testing/explore.hpp"
#include "troupe/testing/sim_network.hpp"
#include "troupe/testing/simulation.hpp"
#include "troupe/troupe.hpp"

namespace {
[[maybe_unused]] void every_option_struct() {
  [[maybe_unused]] troupe::config config{.workers = 2};
  [[maybe_unused]] troupe::spawn_options spawn{.name = "x"};
  [[maybe_unused]] troupe::spawn_options detached{.detached = true};
  [[maybe_unused]] troupe::supervisor_flags flags{.strategy = troupe::strategy::one_for_one};
  [[maybe_unused]] troupe::retry_options retry{.max_retries = 2};
  [[maybe_unused]] troupe::breaker_options breaker{.failures_to_open = 3};
  [[maybe_unused]] troupe::io::reactor_options reactor{.threads = 1};
  [[maybe_unused]] troupe::io::connection_options connection{.max_mailbox = 10};
  [[maybe_unused]] troupe::io::socket_options socket{.backlog = 16};
  [[maybe_unused]] troupe::io::tls_options tls{.certificate = "cert.pem"};
  [[maybe_unused]] troupe::net::node_options node{.name = "a@127.0.0.1", .cookie = "a-long-random-cookie"};
  [[maybe_unused]] troupe::testing::simulation_options simulation{.seed = 1};
  [[maybe_unused]] troupe::testing::explore_options explore{.seeds = 10};
  [[maybe_unused]] troupe::testing::link_faults faults{.loss = 0.1};
}
}  // namespace

int main() {}
