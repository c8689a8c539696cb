#include "server/parts.hpp"

#include "geo/log.hpp"

namespace fleet::server {

void Parts::start(std::chrono::milliseconds deadline_on_failure) {
    try {
        for (; started_ < parts_.size(); ++started_) {
            parts_[started_].start();
        }
    } catch (...) {
        stop(std::chrono::steady_clock::now() + deadline_on_failure);
        throw;
    }
}

void Parts::stop(std::chrono::steady_clock::time_point deadline) {
    for (std::size_t i = started_; i-- > 0;) {
        if (parts_[i].stop_accepting) {
            parts_[i].stop_accepting();
        }
    }
    for (std::size_t i = started_; i-- > 0;) {
        parts_[i].drain(deadline);
        log::debug("fleetd", parts_[i].name + " stopped");
    }
    started_ = 0;
}

std::vector<std::string> Parts::started() const {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < started_; ++i) {
        out.push_back(parts_[i].name);
    }
    return out;
}

}  // namespace fleet::server
