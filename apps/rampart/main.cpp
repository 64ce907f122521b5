// The composition root: the only place that builds real adapters and hands them to the CLI.
#include <unistd.h>

#include <chrono>

#include "cli/cli.hpp"
#include "store/sqlite/sqlite_store.hpp"

int main(int argc, char** argv) {
    rampart::cli::Environment env;
    env.open_store = [](const std::filesystem::path& path) { return rampart::store::open_sqlite(path); };
    env.now = [] {
        return std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
    };
    env.err_is_terminal = ::isatty(STDERR_FILENO) == 1;
    return rampart::cli::run(argc, argv, env);
}
