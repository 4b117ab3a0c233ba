#include "troupe/sync/pi_mutex.hpp"

#include <cerrno>
#include <system_error>

namespace troupe {

pi_mutex::pi_mutex(const char* name) : name_(name) {
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  int rc = pthread_mutexattr_setprotocol(&attr, PTHREAD_PRIO_INHERIT);
  if (rc == 0) rc = pthread_mutex_init(&mutex_, &attr);
  pthread_mutexattr_destroy(&attr);
  if (rc != 0) throw std::system_error(rc, std::generic_category(), "pi_mutex: PTHREAD_PRIO_INHERIT");
}

pi_mutex::~pi_mutex() { pthread_mutex_destroy(&mutex_); }

void pi_mutex::lock(const std::source_location& where) {
  const bool traced = detail::lock_tracing_on();
  if (traced && pthread_mutex_trylock(&mutex_) == 0) {
    detail::trace_lock(detail::lock_step::acquire, name_, holder_);
  } else {
    if (traced) detail::trace_lock(detail::lock_step::wait, name_, holder_);
    if (int rc = pthread_mutex_lock(&mutex_); rc != 0)
      throw std::system_error(rc, std::generic_category(), "pi_mutex::lock");
    if (traced) detail::trace_lock(detail::lock_step::acquire, name_, holder_);
  }
  if (name_ && detail::lock_order_on()) detail::lock_acquired(this, name_, where);
}

bool pi_mutex::try_lock(const std::source_location& where) {
  if (pthread_mutex_trylock(&mutex_) != 0) return false;
  if (detail::lock_tracing_on()) detail::trace_lock(detail::lock_step::acquire, name_, holder_);
  if (name_ && detail::lock_order_on()) detail::lock_acquired(this, name_, where, true);
  return true;
}

void pi_mutex::unlock() {
  if (name_) detail::lock_released(this);  // even if checking was turned off meanwhile
  if (detail::lock_tracing_on()) detail::trace_lock(detail::lock_step::release, name_, holder_);
  pthread_mutex_unlock(&mutex_);
}

}  // namespace troupe
