// The composition root: the only place that builds real adapters and hands them to the CLI.
#include <unistd.h>

#include <chrono>

#include "cli/cli.hpp"
#include "mail/imap/imap.hpp"
#include "store/sqlite/sqlite_store.hpp"

int main(int argc, char** argv) {
    rampart::cli::Environment env;
    env.open_store = [](const std::filesystem::path& path) { return rampart::store::open_sqlite(path); };
    env.now = [] {
        return std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
    };
    env.err_is_terminal = ::isatty(STDERR_FILENO) == 1;
    env.connect_imap = [](const rampart::mail::imap::ConnectOptions& options,
                          const rampart::mail::imap::Secret& password) {
        return rampart::mail::imap::connect(options, password);
    };
    return rampart::cli::run(argc, argv, env);
}
