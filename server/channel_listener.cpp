#include "server/channel_listener.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "geo/error.hpp"

namespace fleet::server {

// Issues LISTEN when it is built; hands each notification's payload on.
class ChannelListener::Receiver final : public pqxx::notification_receiver {
  public:
    Receiver(pqxx::connection& conn, const std::string& channel, const OnPayload& on_payload)
        : pqxx::notification_receiver(conn, channel), on_payload_(on_payload) {}
    void operator()(const std::string& payload, int /*backend_pid*/) override {
        on_payload_(payload);
    }

  private:
    const OnPayload& on_payload_;
};

ChannelListener::ChannelListener(std::string channel, OnPayload on_payload)
    : channel_(std::move(channel)),
      on_payload_(std::move(on_payload)),
      wake_fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
    if (wake_fd_ < 0) {
        throw Error("listening on " + channel_ + ": eventfd: " + std::strerror(errno));
    }
}

ChannelListener::~ChannelListener() {
    close();
    ::close(wake_fd_);
}

void ChannelListener::open(const geo::ConnectionFactory& connections,
                           std::string_view application) {
    close();
    auto conn = connections.connect(application);
    auto receiver = std::make_unique<Receiver>(*conn, channel_, on_payload_);
    if (!conn->is_open()) {
        throw Error("the connection closed as it began to listen on " + channel_);
    }
    conn_ = std::move(conn);
    receiver_ = std::move(receiver);
}

void ChannelListener::close() {
    receiver_.reset();  // before its connection
    conn_.reset();
}

bool ChannelListener::take(std::string* problem) {
    if (!conn_) {
        return true;
    }
    try {
        conn_->get_notifs();
        if (conn_->is_open()) {
            return true;
        }
        if (problem != nullptr) {
            *problem = "the connection closed";
        }
    } catch (const pqxx::failure& e) {
        if (problem != nullptr) {
            *problem = e.what();
        }
    }
    close();
    return false;
}

void ChannelListener::wait(std::chrono::milliseconds timeout) {
    pollfd fds[2] = {{wake_fd_, POLLIN, 0}, {conn_ ? conn_->sock() : -1, POLLIN, 0}};
    const int n = ::poll(fds, 2, static_cast<int>(std::max<long long>(0, timeout.count())));
    if (n > 0 && (fds[0].revents & POLLIN) != 0) {
        std::uint64_t count = 0;
        [[maybe_unused]] const auto r = ::read(wake_fd_, &count, sizeof count);
    }
}

void ChannelListener::wake() {
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto w = ::write(wake_fd_, &one, sizeof one);
}

}  // namespace fleet::server
