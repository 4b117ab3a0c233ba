#include <stdexcept>

#include "troupe/core/context.hpp"
#include "troupe/sync/channel.hpp"

namespace troupe::detail {

void check_may_block_on_channel() {
  if (on_actor_thread())
    throw std::logic_error(
        "troupe: a blocking channel operation on an actor's thread would stall its worker; "
        "use co_await ch.async_send/async_recv/async_select in a coroutine actor, or try_send/try_recv");
}

}  // namespace troupe::detail
