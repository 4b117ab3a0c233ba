#include "troupe/async/request_context.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>

#include "core/causal.hpp"
#include "troupe/core/context.hpp"

namespace troupe {

namespace {
thread_local std::shared_ptr<const request_context> current_context;

// Ids are random 64-bit values (as in Zipkin/B3): random_u64(), so that a
// simulation's seed gives the same ids on every replay.
std::uint64_t new_id() {
  std::uint64_t id;
  do id = troupe::random_u64();
  while (id == 0);
  return id;
}
}  // namespace

std::shared_ptr<const request_context> request_context::current() noexcept {
  if (current_context) return current_context;
  // A handler of a message that carries a trace: its context is that
  // message's span (src/core/causal.hpp).
  const auto& ids = detail::current_causal;
  if (ids.trace == 0) return nullptr;
  try {
    auto ctx = std::make_shared<request_context>();
    ctx->trace_id = ids.trace;
    ctx->span_id = ids.span;
    return ctx;
  } catch (const std::bad_alloc&) {
    return nullptr;
  }
}

std::shared_ptr<const request_context> request_context::new_trace() {
  auto ctx = std::make_shared<request_context>();
  ctx->trace_id = new_id();
  ctx->span_id = new_id();
  return ctx;
}

std::shared_ptr<const request_context> request_context::child_of(
    const std::shared_ptr<const request_context>& parent) {
  if (!parent) return new_trace();
  auto ctx = std::make_shared<request_context>(*parent);
  ctx->parent_id = parent->span_id;
  ctx->span_id = new_id();
  return ctx;
}

std::string request_context::to_string() const {
  char text[96];
  std::snprintf(text, sizeof text, "trace=%016llx span=%016llx parent=%016llx",
                static_cast<unsigned long long>(trace_id), static_cast<unsigned long long>(span_id),
                static_cast<unsigned long long>(parent_id));
  return text;
}

context_scope::context_scope(std::shared_ptr<const request_context> ctx) noexcept
    : saved_(std::move(ctx)), saved_trace_(detail::current_causal.trace), saved_span_(detail::current_causal.span) {
  detail::swap_request_context(saved_);
}

context_scope::~context_scope() {
  detail::swap_request_context(saved_);
  detail::current_causal = {saved_trace_, saved_span_};  // a message's trace, say
}

void detail::swap_request_context(std::shared_ptr<const request_context>& ctx) noexcept {
  current_context.swap(ctx);
  // Messages sent while it is current carry its trace. (Callers restore
  // the ids they replaced: context_scope, run_node.)
  detail::current_causal = current_context ? detail::causal_ids{current_context->trace_id, current_context->span_id}
                                           : detail::causal_ids{};
}

}  // namespace troupe
