#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>

#include "driver_under_test.h"

namespace xatm::testing {
namespace {

// Parses the NAME='value' lines that `test-servers.sh env` prints.
std::map<std::string, std::string> settings_from_script() {
  std::map<std::string, std::string> settings;
  std::string command = std::string(XATM_TEST_SERVERS_SCRIPT) + " env";
  FILE* pipe = popen(command.c_str(), "r");  // NOLINT(cert-env33-c): our own script
  if (pipe == nullptr) return settings;
  std::array<char, 4096> line{};
  while (fgets(line.data(), line.size(), pipe) != nullptr) {
    std::string text(line.data());
    auto equals = text.find('=');
    if (equals == std::string::npos) continue;
    std::string value = text.substr(equals + 1);
    while (!value.empty() && (value.back() == '\n' || value.back() == '\'')) value.pop_back();
    if (!value.empty() && value.front() == '\'') value.erase(0, 1);
    settings[text.substr(0, equals)] = value;
  }
  pclose(pipe);
  return settings;
}

}  // namespace

std::string test_setting(const std::string& name) {
  const std::string key = "XATM_TEST_" + name;
  if (const char* value = std::getenv(key.c_str())) return value;  // NOLINT(concurrency-mt-unsafe)
  static std::once_flag once;
  static std::map<std::string, std::string> settings;
  std::call_once(once, [] { settings = settings_from_script(); });
  auto it = settings.find(key);
  if (it == settings.end() || it->second.empty()) {
    ADD_FAILURE() << key << " is not set and scripts/test-servers.sh env did not provide it: "
                  << "start the servers with scripts/test-servers.sh start";
    return "";
  }
  return it->second;
}

Status run_test_servers(const std::string& args) {
  std::string command = std::string(XATM_TEST_SERVERS_SCRIPT) + " " + args + " >/dev/null";
  int rc = std::system(command.c_str());  // NOLINT(concurrency-mt-unsafe,cert-env33-c)
  if (rc != 0) return unavailable_error("test-servers.sh " + args + " failed (" + std::to_string(rc) + ")");
  return Status();
}

}  // namespace xatm::testing
