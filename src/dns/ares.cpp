#include "dns/ares.hpp"

#include <ares.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <type_traits>

#include <fmt/format.h>

#include "dns/wire.hpp"

namespace rampart::dns {
namespace {

constexpr std::string_view shut_down = "resolver shut down";
constexpr int udp_receive_buffer = 1 << 20;

struct ChannelDeleter {
    void operator()(ares_channel channel) const noexcept { ares_destroy(channel); }
};
using Channel = std::unique_ptr<std::remove_pointer_t<ares_channel>, ChannelDeleter>;

Answer error_answer(std::string detail) {
    Answer out;
    out.status = Status::error;
    out.detail = std::move(detail);
    return out;
}

/// What a c-ares status without a usable message means.
Answer from_ares_status(int status, std::string_view name, RrType type, int timeouts) {
    switch (status) {
        case ARES_ETIMEOUT: {
            Answer out;
            out.status = Status::timeout;
            out.detail = fmt::format("no answer for {} {} ({} tries timed out)", printable(name),
                                     to_string(type), timeouts);
            return out;
        }
        // Answers with these RCODEs reach on_answer as messages (NOCHECKRESP); c-ares itself
        // reports them only from paths that never saw one, which are mapped the same way.
        case ARES_ESERVFAIL: return wire::servfail_answer(2, name, type);
        case ARES_EREFUSED: return wire::servfail_answer(5, name, type);
        case ARES_ENOTIMP: return wire::servfail_answer(4, name, type);
        case ARES_EFORMERR: return wire::servfail_answer(1, name, type);
        case ARES_ECANCELLED:
        case ARES_EDESTRUCTION: return error_answer(std::string(shut_down));
        case ARES_ECONNREFUSED:
            return error_answer(fmt::format(
                "the DNS server refused the connection for {} {} (nothing listens there?)",
                printable(name), to_string(type)));
        default:
            return error_answer(fmt::format("{} {}: {}", printable(name), to_string(type),
                                            ares_strerror(status)));
    }
}

std::once_flag library_once;
int library_status = ARES_SUCCESS;

/// One caller's channels: UDP (truncated answers come back to us) and TCP (for the retry).
/// A Driver is used by one thread at a time, which runs its event loop on its own stack.
struct Driver {
    Driver() = default;
    ~Driver() {
        if (wake_fd >= 0) ::close(wake_fd);
    }
    Driver(const Driver&) = delete;
    Driver& operator=(const Driver&) = delete;

    /// The sockets c-ares wants watched on one channel, and for what.
    struct Sockets {
        std::map<ares_socket_t, std::pair<bool, bool>> wanted;  // fd → (read, write)
    };
    // Declared first so that they outlive the channels: ares_destroy still reports the sockets
    // it closes.
    Sockets udp_sockets, tcp_sockets;
    Channel udp, tcp;
    // Written by the resolver's destructor to stop this driver's caller. One per driver rather
    // than one for all, so that concurrent callers' polls share no kernel wait queue.
    int wake_fd = -1;
    // Kept between polls so that a question costs no allocation for them.
    std::vector<pollfd> fds;
    std::vector<ares_channel> owners;
};

/// Where the answers of one query()/query_all() call go, and what is still to be sent.
struct Call {
    const std::atomic<bool>* stopping = nullptr;
    Driver* driver = nullptr;
    std::vector<Answer> answers;
    std::size_t left = 0;       // questions not answered yet
    std::size_t in_flight = 0;  // questions handed to c-ares and not answered yet
};

/// One question on its way: built, sent, maybe sent again over TCP, answered into its call.
struct Pending {
    Call* call = nullptr;
    std::size_t index = 0;
    std::string name;  // normalized
    RrType type = RrType::a;
    std::vector<std::byte> query;
    bool over_tcp = false;
};

void deliver(Call& call, std::size_t index, Answer answer) {
    call.answers[index] = std::move(answer);
    --call.left;
}

void on_socket_state(void* data, ares_socket_t fd, int readable, int writable) {
    auto& sockets = *static_cast<Driver::Sockets*>(data);
    if (readable == 0 && writable == 0) {
        sockets.wanted.erase(fd);
    } else {
        sockets.wanted[fd] = {readable != 0, writable != 0};
    }
}

void on_answer(void* arg, int status, int timeouts, unsigned char* abuf, int alen);

void send(std::unique_ptr<Pending> pending) {
    Call& call = *pending->call;
    ++call.in_flight;
    auto* channel = pending->over_tcp ? call.driver->tcp.get() : call.driver->udp.get();
    const auto* bytes = reinterpret_cast<const unsigned char*>(pending->query.data());
    const int length = static_cast<int>(pending->query.size());
    // c-ares owns the question until on_answer, which it may call before ares_send returns.
    ares_send(channel, bytes, length, &on_answer, pending.release());
}

void on_answer(void* arg, int status, int timeouts, unsigned char* abuf, int alen) {
    std::unique_ptr<Pending> pending(static_cast<Pending*>(arg));
    Call& call = *pending->call;
    --call.in_flight;
    if (status != ARES_SUCCESS || abuf == nullptr || alen <= 0) {
        auto answer = from_ares_status(status, pending->name, pending->type, timeouts);
        answer.truncated = pending->over_tcp;
        deliver(call, pending->index, std::move(answer));
        return;
    }
    const auto bytes = std::as_bytes(std::span(abuf, static_cast<std::size_t>(alen)));
    auto message = wire::parse_message(bytes);
    if (!message) {
        deliver(call, pending->index,
                error_answer(fmt::format("the DNS server's answer for {} {} is malformed: {}",
                                         printable(pending->name), to_string(pending->type),
                                         message.error().reason)));
        return;
    }
    if (!wire::answers_question(*message, pending->name, pending->type)) {
        deliver(call, pending->index,
                error_answer(fmt::format(
                    "the DNS server's answer for {} {} is for another question",
                    printable(pending->name), to_string(pending->type))));
        return;
    }
    if (message->header.tc && !pending->over_tcp && !*call.stopping) {
        // RFC 7766 §5: a truncated UDP answer is asked again over TCP.
        pending->over_tcp = true;
        send(std::move(pending));
        return;
    }
    auto answer = wire::to_answer(*message, pending->name, pending->type);
    answer.truncated = pending->over_tcp;
    deliver(call, pending->index, std::move(answer));
}

}  // namespace

/// The drivers not in use, and those lent out (to be woken when the resolver is destroyed).
class AresResolver::Pool {
public:
    static Result<std::unique_ptr<Pool>> make(const AresOptions& options);
    ~Pool();
    Pool(const Pool&) = delete;
    Pool& operator=(const Pool&) = delete;

    /// Asks every question on the calling thread, on a borrowed driver, and fills `call`.
    void run(Call& call, std::deque<std::unique_ptr<Pending>> queue);

private:
    explicit Pool(const AresOptions& options) : options_(options) {}
    Result<std::unique_ptr<Driver>> make_driver() const;
    Result<void> init_channel(Channel& channel, Driver::Sockets& sockets, int flags) const;
    /// A free driver, or a new one; nullptr (with `why`) when shutting down or c-ares fails.
    std::unique_ptr<Driver> borrow(std::string& why);
    void give_back(std::unique_ptr<Driver> driver);
    void poll_once(Driver& driver);

    const AresOptions options_;
    std::atomic<bool> stopping_{false};

    std::mutex mutex_;
    std::condition_variable idle_;
    std::vector<std::unique_ptr<Driver>> free_;
    std::vector<Driver*> lent_;
    std::size_t making_ = 0;  // callers making a driver of their own, outside the lock
};

Result<std::unique_ptr<AresResolver::Pool>> AresResolver::Pool::make(const AresOptions& options) {
    std::unique_ptr<Pool> pool(new Pool(options));
    // One driver now, so that a c-ares or server setting it refuses is reported by open().
    auto first = pool->make_driver();
    if (!first) return std::unexpected(std::move(first.error()));
    pool->free_.push_back(std::move(*first));
    return pool;
}

Result<std::unique_ptr<Driver>> AresResolver::Pool::make_driver() const {
    auto driver = std::make_unique<Driver>();
    // The resolver's destructor writes it once and nobody reads it, so it stays readable: the
    // caller's poll sees it, now or at its next turn.
    driver->wake_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (driver->wake_fd < 0)
        return fail(Errc::io, fmt::format("cannot make the resolver's wake-up descriptor: {}",
                                          std::strerror(errno)));
    // Truncated UDP answers come back to us (IGNTC) so that we see them and ask again over the
    // TCP channel ourselves: the answer can then say it needed TCP (an audit finding).
    // NOCHECKRESP: without it c-ares 1.18 swallows SERVFAIL, REFUSED and NOTIMP answers and,
    // once every server said so, reports ARES_ECONNREFUSED, indistinguishable from a closed
    // port. With it we read the RCODE ourselves, at two costs: a SERVFAIL is not retried at the
    // next server of resolv.conf, and c-ares no longer compares the answer's question with ours,
    // so on_answer does (matches_question).
    // STAYOPEN (UDP only): c-ares 1.18 closes a channel's sockets whenever its last query ends,
    // which for a driver that asks one question at a time would mean a new socket per question.
    constexpr int common = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES | ARES_FLAG_NOCHECKRESP;
    if (auto ok = init_channel(driver->udp, driver->udp_sockets,
                               common | ARES_FLAG_IGNTC | ARES_FLAG_STAYOPEN);
        !ok)
        return std::unexpected(ok.error());
    if (auto ok = init_channel(driver->tcp, driver->tcp_sockets, common | ARES_FLAG_USEVC); !ok)
        return std::unexpected(ok.error());
    return driver;
}

Result<void> AresResolver::Pool::init_channel(Channel& channel, Driver::Sockets& sockets,
                                              int flags) const {
    ares_options o{};
    o.flags = flags;
    o.timeout = static_cast<int>(options_.timeout.count());
    o.tries = options_.tries;
    o.sock_state_cb = &on_socket_state;
    o.sock_state_cb_data = &sockets;
    // A hundred answers or more arrive on one UDP socket at once; the kernel's default buffer
    // (about 200 KiB, charged about 1 KiB per datagram) would drop some, and each drop waits
    // out a timeout. The kernel caps the request at net.core.rmem_max.
    o.socket_receive_buffer_size = udp_receive_buffer;
    const int mask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES |
                     ARES_OPT_SOCK_STATE_CB | ARES_OPT_SOCK_RCVBUF;
    ares_channel raw = nullptr;
    if (const int status = ares_init_options(&raw, &o, mask); status != ARES_SUCCESS)
        return fail(Errc::io, fmt::format("cannot set up the DNS resolver: {}",
                                          ares_strerror(status)));
    channel.reset(raw);
    if (!options_.server) return {};
    const auto& server = *options_.server;
    ares_addr_port_node node{};
    const auto bytes = server.address.bytes();
    if (server.address.family() == IpAddress::Family::v4) {
        node.family = AF_INET;
        std::memcpy(&node.addr.addr4, bytes.data(), bytes.size());
    } else {
        node.family = AF_INET6;
        std::memcpy(&node.addr.addr6, bytes.data(), bytes.size());
    }
    node.udp_port = node.tcp_port = server.port;
    if (const int status = ares_set_servers_ports(raw, &node); status != ARES_SUCCESS)
        return fail(Errc::io, fmt::format("cannot use the DNS server {}: {}", server.to_string(),
                                          ares_strerror(status)));
    return {};
}

AresResolver::Pool::~Pool() {
    std::unique_lock lock(mutex_);
    stopping_ = true;
    const std::uint64_t one = 1;
    for (auto* driver : lent_) (void)::write(driver->wake_fd, &one, sizeof one);
    // Each caller in flight sees its descriptor, cancels its questions and gives its driver back.
    // A caller still making its driver finds stopping_ set once it is lent (below).
    idle_.wait(lock, [&] { return lent_.empty() && making_ == 0; });
    // No driver left here has a question in flight, so ares_destroy calls nobody back.
    free_.clear();
}

std::unique_ptr<Driver> AresResolver::Pool::borrow(std::string& why) {
    {
        std::lock_guard lock(mutex_);
        if (stopping_) {
            why = std::string(shut_down);
            return nullptr;
        }
        if (!free_.empty()) {
            auto driver = std::move(free_.back());
            free_.pop_back();
            lent_.push_back(driver.get());
            return driver;
        }
        ++making_;
    }
    // More callers at once than drivers so far: one more, made outside the lock (it reads
    // resolv.conf), kept for the next time.
    auto driver = make_driver();
    std::lock_guard lock(mutex_);
    --making_;
    if (driver) {
        // If the destructor has begun meanwhile, run() sees stopping_ before it polls.
        lent_.push_back(driver->get());
        return std::move(*driver);
    }
    why = driver.error().reason;
    if (lent_.empty() && making_ == 0) idle_.notify_all();
    return nullptr;
}

void AresResolver::Pool::give_back(std::unique_ptr<Driver> driver) {
    std::lock_guard lock(mutex_);
    std::erase(lent_, driver.get());
    free_.push_back(std::move(driver));
    // Notified under the lock: the destructor may free the pool as soon as it can take it.
    if (lent_.empty() && making_ == 0) idle_.notify_all();
}

void AresResolver::Pool::run(Call& call, std::deque<std::unique_ptr<Pending>> queue) {
    std::string why;
    auto driver = borrow(why);
    if (!driver) {
        for (auto& p : queue) deliver(call, p->index, error_answer(why));
        return;
    }
    call.stopping = &stopping_;
    call.driver = driver.get();
    while (call.left > 0) {
        if (stopping_) {
            // Cancelling calls on_answer with ARES_ECANCELLED for everything in flight.
            ares_cancel(driver->udp.get());
            ares_cancel(driver->tcp.get());
            for (auto& p : queue) deliver(call, p->index, error_answer(std::string(shut_down)));
            queue.clear();
            break;
        }
        while (!queue.empty() && call.in_flight < options_.max_in_flight) {
            auto p = std::move(queue.front());
            queue.pop_front();
            send(std::move(p));
        }
        if (call.left == 0) break;
        poll_once(*driver);
    }
    give_back(std::move(driver));
}

void AresResolver::Pool::poll_once(Driver& driver) {
    auto& fds = driver.fds;
    auto& owners = driver.owners;
    fds.assign(1, pollfd{driver.wake_fd, POLLIN, 0});
    owners.assign(1, nullptr);
    for (auto [sockets, channel] : {std::pair{&driver.udp_sockets, driver.udp.get()},
                                    std::pair{&driver.tcp_sockets, driver.tcp.get()}}) {
        for (const auto& [fd, interest] : sockets->wanted) {
            const auto events = static_cast<short>((interest.first ? POLLIN : 0) |
                                                   (interest.second ? POLLOUT : 0));
            fds.push_back({fd, events, 0});
            owners.push_back(channel);
        }
    }
    // Wake for c-ares's next timeout; a question in flight always has one. A channel without
    // one (usually TCP) has nothing to time out and is left alone below.
    int wait_ms = -1;
    bool timing[2] = {false, false};
    for (int i = 0; i < 2; ++i) {
        timeval tv{};
        if (ares_timeout(i == 0 ? driver.udp.get() : driver.tcp.get(), nullptr, &tv) == nullptr)
            continue;
        timing[i] = true;
        const auto ms = static_cast<int>(tv.tv_sec * 1000 + (tv.tv_usec + 999) / 1000);
        wait_ms = wait_ms < 0 ? ms : std::min(wait_ms, ms);
    }
    const int ready = ::poll(fds.data(), fds.size(), wait_ms);
    // fds[0] is not read here: stopping_ is checked by the caller's loop.
    for (std::size_t i = 1; ready > 0 && i < fds.size(); ++i) {
        const auto revents = fds[i].revents;
        if (revents == 0) continue;
        const bool readable = (revents & (POLLIN | POLLERR | POLLHUP)) != 0;
        const bool writable = (revents & POLLOUT) != 0;
        ares_process_fd(owners[i], readable ? fds[i].fd : ARES_SOCKET_BAD,
                        writable ? fds[i].fd : ARES_SOCKET_BAD);
    }
    // Lets c-ares notice the queries whose time is up.
    if (timing[0]) ares_process_fd(driver.udp.get(), ARES_SOCKET_BAD, ARES_SOCKET_BAD);
    if (timing[1]) ares_process_fd(driver.tcp.get(), ARES_SOCKET_BAD, ARES_SOCKET_BAD);
}

Result<std::unique_ptr<AresResolver>> AresResolver::open(const AresOptions& options) {
    if (options.timeout.count() < 1 || options.timeout.count() > 3'600'000)
        return fail(Errc::malformed, "the DNS timeout must be from 1 ms to one hour");
    if (options.tries < 1 || options.tries > 100)
        return fail(Errc::malformed, "the DNS tries must be from 1 to 100");
    if (options.max_in_flight == 0)
        return fail(Errc::malformed, "at least one DNS query must be allowed in flight");
    std::call_once(library_once, [] { library_status = ares_library_init(ARES_LIB_INIT_ALL); });
    if (library_status != ARES_SUCCESS)
        return fail(Errc::io, fmt::format("cannot initialise c-ares: {}",
                                          ares_strerror(library_status)));
    auto pool = Pool::make(options);
    if (!pool) return std::unexpected(std::move(pool.error()));
    return std::unique_ptr<AresResolver>(new AresResolver(std::move(*pool)));
}

AresResolver::AresResolver(std::unique_ptr<Pool> pool) noexcept : pool_(std::move(pool)) {}

AresResolver::~AresResolver() = default;

Answer AresResolver::query(std::string_view name, RrType type) {
    const Question question{std::string(name), type};
    auto answers = query_all(std::span(&question, 1));
    return std::move(answers.front());
}

std::vector<Answer> AresResolver::query_all(std::span<const Question> questions) {
    Call call;
    call.answers.resize(questions.size());
    std::deque<std::unique_ptr<Pending>> work;
    for (std::size_t i = 0; i < questions.size(); ++i) {
        auto normal = normalize_name(questions[i].name);
        if (!normal) {
            call.answers[i] = error_answer(normal.error().reason);
            continue;
        }
        auto query = wire::build_query(*normal, static_cast<std::uint16_t>(questions[i].type));
        if (!query) {
            call.answers[i] = error_answer(query.error().reason);
            continue;
        }
        auto pending = std::make_unique<Pending>();
        pending->call = &call;
        pending->index = i;
        pending->name = std::move(*normal);
        pending->type = questions[i].type;
        pending->query = std::move(*query);
        work.push_back(std::move(pending));
    }
    if (work.empty()) return std::move(call.answers);
    call.left = work.size();
    pool_->run(call, std::move(work));
    return std::move(call.answers);
}

}  // namespace rampart::dns
