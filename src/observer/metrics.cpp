// The metrics registry and the Prometheus text format (format 0.0.4: one
// `# HELP` and one `# TYPE` line per family, then its samples; label values
// escaped as \\, \" and \n; help text as \\ and \n).
#include "troupe/observer/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>

#include "prometheus_text.hpp"
#include "troupe/async/stats.hpp"

namespace troupe::observer {
namespace {

// Each thread counts into one stripe, chosen once per thread round-robin.
std::size_t my_stripe(std::size_t stripes) noexcept {
  static std::atomic<std::size_t> next{0};
  thread_local const std::size_t mine = next.fetch_add(1, std::memory_order_relaxed);
  return mine % stripes;
}

enum family_type { counter_type, gauge_type, histogram_type, service_type };
const char* type_name(int type) {
  switch (type) {
    case counter_type: return "counter";
    case gauge_type: return "gauge";
    case histogram_type: return "histogram";
    default: return "summary";
  }
}

}  // namespace

void counter::add(std::uint64_t n) noexcept {
  stripes_[my_stripe(stripes)].n.fetch_add(n, std::memory_order_relaxed);
}

std::uint64_t counter::value() const noexcept {
  std::uint64_t sum = 0;
  for (const auto& s : stripes_) sum += s.n.load(std::memory_order_relaxed);
  return sum;
}

void gauge::add(double d) noexcept { bits_.fetch_add(d, std::memory_order_relaxed); }

histogram::histogram(std::vector<double> bounds) : bounds_(std::move(bounds)) {
  for (std::size_t i = 0; i < bounds_.size(); ++i) {
    if (std::isnan(bounds_[i])) throw std::invalid_argument("histogram: a bound is NaN");
    if (i > 0 && !(bounds_[i - 1] < bounds_[i]))
      throw std::invalid_argument("histogram: bounds must increase");
  }
  // +Inf is implied: a given one is dropped so it is not printed twice.
  if (!bounds_.empty() && std::isinf(bounds_.back()) && bounds_.back() > 0) bounds_.pop_back();
  buckets_ = std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1);
}

void histogram::observe(double v) noexcept {
  const auto at = std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin();
  buckets_[static_cast<std::size_t>(at)].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

std::uint64_t histogram::cumulative(std::size_t i) const noexcept {
  std::uint64_t sum = 0;
  for (std::size_t b = 0; b <= std::min(i, bounds_.size()); ++b) sum += buckets_[b].load(std::memory_order_relaxed);
  return sum;
}

bool valid_metric_name(const std::string& name) noexcept {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    if (!letter && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

bool valid_label_name(const std::string& name) noexcept {
  if (name.empty() || name.rfind("__", 0) == 0) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    if (!letter && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

// One name: its help, type and a metric per label set.
struct metrics::family {
  std::string name;
  std::string help;
  int type;
  std::vector<double> bounds;  // histograms
  struct member {
    labels with;
    std::unique_ptr<observer::counter> c;
    std::unique_ptr<observer::gauge> g;
    std::unique_ptr<observer::histogram> h;
    std::shared_ptr<const troupe::stats> s;
  };
  std::deque<member> members;

  // Labels are kept sorted by name, so {a,b} and {b,a} are one series.
  member& find_or_add(labels with) {
    std::sort(with.begin(), with.end());
    for (auto& m : members)
      if (m.with == with) return m;
    for (std::size_t i = 0; i < with.size(); ++i) {
      const std::string& label = with[i].first;
      if (!valid_label_name(label) || (type == histogram_type && label == "le") ||
          (type == service_type && label == "code"))
        throw std::invalid_argument("metrics: bad label name '" + label + "' on " + name);
      if (i > 0 && with[i - 1].first == label)
        throw std::invalid_argument("metrics: label '" + label + "' twice on " + name);
    }
    return members.emplace_back(member{std::move(with), {}, {}, {}, {}});
  }
};

metrics::metrics() = default;
metrics::~metrics() = default;

metrics::family& metrics::family_of(const std::string& name, const std::string& help, int type) {
  if (!valid_metric_name(name)) throw std::invalid_argument("metrics: bad metric name '" + name + "'");
  // The runtime's own families are troupe_*: a program's may not collide.
  if (name.rfind("troupe_", 0) == 0)
    throw std::invalid_argument("metrics: names starting with troupe_ are the runtime's (" + name + ")");
  for (auto& f : families_) {
    if (f->name != name) continue;
    if (f->type != type)
      throw std::invalid_argument("metrics: " + name + " is already a " + type_name(f->type));
    return *f;
  }
  auto f = std::make_unique<family>();
  f->name = name;
  f->help = help;
  f->type = type;
  families_.push_back(std::move(f));
  return *families_.back();
}

counter& metrics::counter(const std::string& name, const std::string& help, const labels& with) {
  std::lock_guard lock(mutex_);
  auto& m = family_of(name, help, counter_type).find_or_add(with);
  if (!m.c) m.c = std::make_unique<observer::counter>();
  return *m.c;
}

gauge& metrics::gauge(const std::string& name, const std::string& help, const labels& with) {
  std::lock_guard lock(mutex_);
  auto& m = family_of(name, help, gauge_type).find_or_add(with);
  if (!m.g) m.g = std::make_unique<observer::gauge>();
  return *m.g;
}

histogram& metrics::histogram(const std::string& name, const std::string& help, std::vector<double> bounds,
                              const labels& with) {
  observer::histogram made(std::move(bounds));  // checks the bounds before anything is registered
  std::lock_guard lock(mutex_);
  family& f = family_of(name, help, histogram_type);
  if (f.members.empty())
    f.bounds = made.bounds();
  else if (f.bounds != made.bounds())
    throw std::invalid_argument("metrics: " + name + " was registered with other bounds");
  auto& m = f.find_or_add(with);
  if (!m.h) m.h = std::make_unique<observer::histogram>(f.bounds);
  return *m.h;
}

void metrics::service(const std::string& name, std::shared_ptr<const troupe::stats> s) {
  if (!s) throw std::invalid_argument("metrics: service " + name + " without stats");
  std::lock_guard lock(mutex_);
  auto& m = family_of(name, "", service_type).find_or_add({});
  m.s = std::move(s);
}

void metrics::write_prometheus(std::string& out) const {
  std::lock_guard lock(mutex_);
  for (const auto& f : families_) {
    if (f->type == service_type) {
      for (const auto& m : f->members) write_service(out, f->name, *m.s);
      continue;
    }
    write_head(out, f->name, f->help, type_name(f->type));
    for (const auto& m : f->members) {
      if (m.c) write_sample(out, f->name, m.with, static_cast<double>(m.c->value()));
      if (m.g) write_sample(out, f->name, m.with, m.g->value());
      if (m.h) {
        labels with = m.with;
        with.emplace_back("le", "");
        std::uint64_t all = 0;
        for (std::size_t i = 0; i <= m.h->bounds().size(); ++i) {
          with.back().second = i < m.h->bounds().size() ? number(m.h->bounds()[i]) : "+Inf";
          all = m.h->cumulative(i);
          write_sample(out, f->name + "_bucket", with, static_cast<double>(all));
        }
        write_sample(out, f->name + "_sum", m.with, m.h->sum());
        // The +Inf bucket's own figure, so the two agree within one scrape.
        write_sample(out, f->name + "_count", m.with, static_cast<double>(all));
      }
    }
  }
}

}  // namespace troupe::observer
