#include "runtime/runtime.hpp"

#include <algorithm>

namespace hoplink::transport {

Timer::Timer(Runtime& runtime, Callback callback) : runtime_(runtime), callback_(std::move(callback)) {}

Timer::~Timer() {
  cancel();
}

void Timer::arm_at(TimePoint when) {
  runtime_.rearm(*this, when);
}

void Timer::arm_at(TimePoint when, Callback callback) {
  callback_ = std::move(callback);
  arm_at(when);
}

void Timer::arm_after(Duration delay) {
  arm_at(runtime_.now() + delay);
}

void Timer::arm_after(Duration delay, Callback callback) {
  arm_at(runtime_.now() + delay, std::move(callback));
}

void Timer::cancel() {
  if (!armed_) return;
  armed_ = false;
  runtime_.erase(*this);
}

Task::Task(Runtime& runtime, std::function<void()> work) : runtime_(runtime), work_(std::move(work)) {}

Task::~Task() {
  cancel();
}

void Task::schedule() {
  if (scheduled_) return;
  scheduled_ = true;
  runtime_.enqueue(*this);
}

void Task::cancel() {
  if (!scheduled_) return;
  scheduled_ = false;
  runtime_.unlink(*this);
}

Runtime::Runtime(asio::io_context& io) : io_(io) {
  round_task_.emplace(*this, [this] { end_round(); });
}

Runtime::~Runtime() {
  round_task_.reset();
}

void Runtime::rearm(Timer& timer, TimePoint when) {
  // One change of the earliest deadline at most, not one for the removal and one for the insertion: a
  // pacing timer re-armed thousands of times a second is usually the earliest.
  const auto earliest_before = timers_.empty() ? std::nullopt : std::optional(timers_.begin()->first);
  if (timer.armed_) timers_.erase(timer.key_);
  timer.key_ = {when, ++timer_sequence_};
  timer.armed_ = true;
  timers_.emplace(timer.key_, &timer);
  if (!firing_ && earliest_before != timers_.begin()->first) deadlines_changed();
}

void Runtime::erase(Timer& timer) {
  const bool earliest = !timers_.empty() && timers_.begin()->first == timer.key_;
  timers_.erase(timer.key_);
  if (earliest && !firing_) deadlines_changed();
}

std::optional<TimePoint> Runtime::next_deadline() const {
  if (timers_.empty()) return std::nullopt;
  return timers_.begin()->first.first;
}

std::size_t Runtime::fire_due_timers(TimePoint now) {
  const std::uint64_t armed_before = timer_sequence_;
  std::size_t fired = 0;
  firing_ = true;
  for (auto it = timers_.begin(); it != timers_.end() && it->first.first <= now;) {
    if (it->first.second > armed_before) {
      ++it;
      continue;
    }
    Timer* timer = it->second;
    timers_.erase(it);
    timer->armed_ = false;
    ++fired;
    // A copy: the callback may re-arm its timer with another callback, or destroy it.
    auto callback = timer->callback_;
    if (callback) callback();
    it = timers_.begin();
  }
  firing_ = false;
  deadlines_changed();
  return fired;
}

void Runtime::enqueue(Task& task) {
  task.batch_ = batch_;
  task.prev_ = tail_;
  task.next_ = nullptr;
  if (tail_ != nullptr) {
    tail_->next_ = &task;
  } else {
    head_ = &task;
  }
  tail_ = &task;
  if (tasks_posted_) return;
  tasks_posted_ = true;
  asio::post(io_, lifetime_.guard([this] { run_tasks(); }));
}

void Runtime::unlink(Task& task) {
  if (task.prev_ != nullptr) {
    task.prev_->next_ = task.next_;
  } else {
    head_ = task.next_;
  }
  if (task.next_ != nullptr) {
    task.next_->prev_ = task.prev_;
  } else {
    tail_ = task.prev_;
  }
  task.prev_ = task.next_ = nullptr;
}

void Runtime::run_tasks() {
  tasks_posted_ = false;
  // Tasks scheduled from here on belong to the next batch (and the next handler): a task that keeps
  // rescheduling itself cannot starve the loop.
  const std::uint64_t batch = batch_++;
  while (head_ != nullptr && head_->batch_ <= batch) {
    Task& task = *head_;
    task.scheduled_ = false;
    unlink(task);
    task.work_();
  }
  if (head_ != nullptr && !tasks_posted_) {
    tasks_posted_ = true;
    asio::post(io_, lifetime_.guard([this] { run_tasks(); }));
  }
}

std::uint64_t Runtime::add_round_hook(std::function<void()> hook) {
  round_hooks_.emplace(++next_hook_, std::move(hook));
  return next_hook_;
}

void Runtime::remove_round_hook(std::uint64_t id) {
  round_hooks_.erase(id);
}

void Runtime::end_round() {
  if (in_round_) return;
  in_round_ = true;
  round_task_->cancel();
  for (auto& [id, hook] : round_hooks_) hook();
  // A port flushing may not queue more; one that a hook asks for now is flushed in this pass too.
  for (std::size_t i = 0; i < flush_requests_.size(); ++i) {
    Flushable* port = flush_requests_[i];
    if (port == nullptr) continue;
    port->flush_requested_ = false;
    port->flush();
  }
  flush_requests_.clear();
  in_round_ = false;
}

void Runtime::end_round_soon() {
  round_task_->schedule();
}

void Runtime::request_flush(Flushable& port) {
  if (port.flush_requested_) return;
  port.flush_requested_ = true;
  flush_requests_.push_back(&port);
  if (!in_round_) end_round_soon();
}

void Runtime::cancel_flush(Flushable& port) {
  if (!port.flush_requested_) return;
  port.flush_requested_ = false;
  std::replace(flush_requests_.begin(), flush_requests_.end(), &port, static_cast<Flushable*>(nullptr));
}

}  // namespace hoplink::transport
