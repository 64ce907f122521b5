// Dispatcher: every channel hears about every notification, in order; one failing channel
// does not stop the others, and each result is reported under its channel's name.
#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "notify/notify.hpp"

namespace {

using namespace rampart;
using namespace rampart::notify;

struct Log {
    std::vector<std::string> calls;
};

class Recording final : public Channel {
public:
    enum class Mode { ok, error, exception };
    Recording(Log& log, std::string name, Mode mode)
        : log_(log), name_(std::move(name)), mode_(mode) {}
    Result<void> deliver(const Notification& n, std::span<const std::string> recipients) override {
        log_.calls.push_back(name_ + ":" + n.domain + ":" + std::to_string(recipients.size()));
        if (mode_ == Mode::error) return fail(Errc::transient, "server away");
        if (mode_ == Mode::exception) throw std::runtime_error("boom");
        return {};
    }

private:
    Log& log_;
    std::string name_;
    Mode mode_;
};

TEST(Dispatcher, FailingChannelsDoNotStopTheOthers) {
    Log log;
    Dispatcher d;
    d.add("smtp", std::make_unique<Recording>(log, "smtp", Recording::Mode::error),
          {"a@acme.example", "b@acme.example"});
    d.add("thrower", std::make_unique<Recording>(log, "thrower", Recording::Mode::exception));
    d.add("webhook", std::make_unique<Recording>(log, "webhook", Recording::Mode::ok));
    auto results = d.send(Notification{.domain = "acme.example"});
    EXPECT_EQ(log.calls, (std::vector<std::string>{"smtp:acme.example:2", "thrower:acme.example:0",
                                                   "webhook:acme.example:0"}));
    ASSERT_EQ(results.size(), 3u);
    EXPECT_EQ(results[0].channel, "smtp");
    ASSERT_FALSE(results[0].outcome);
    EXPECT_EQ(results[0].outcome.error().code, Errc::transient);
    EXPECT_EQ(results[0].outcome.error().reason, "server away");
    ASSERT_FALSE(results[1].outcome);
    EXPECT_NE(results[1].outcome.error().reason.find("boom"), std::string::npos);
    EXPECT_TRUE(results[2].outcome);
}

}  // namespace
