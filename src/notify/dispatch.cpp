// Every channel hears about every notification; one that fails does not silence the others.
#include "notify/notify.hpp"

#include <exception>

namespace rampart::notify {

void Dispatcher::add(std::string name, std::unique_ptr<Channel> channel,
                     std::vector<std::string> recipients) {
    RAMPART_ASSERT(channel != nullptr);
    routes_.push_back(Route{std::move(name), std::move(channel), std::move(recipients)});
}

std::vector<Delivery> Dispatcher::send(const Notification& n) {
    std::vector<Delivery> out;
    out.reserve(routes_.size());
    for (auto& route : routes_) {
        Result<void> outcome;
        // Channels return errors; an exception from a third-party library (nlohmann-json,
        // std::bad_alloc) is turned into one so the next channel still gets its turn.
        try {
            outcome = route.channel->deliver(n, route.recipients);
        } catch (const std::exception& e) {
            outcome = fail(Errc::io, std::string("the channel failed: ") + e.what(),
                           Location{.source = route.name});
        }
        out.push_back(Delivery{route.name, std::move(outcome)});
    }
    return out;
}

}  // namespace rampart::notify
