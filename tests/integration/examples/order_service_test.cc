// examples/order_service.cc against the servers of scripts/test-servers.sh: the example places
// its orders, and its /metrics, read over HTTP as Prometheus reads it, must count them.
#include <arpa/inet.h>
#include <cppconn/resultset.h>
#include <cppconn/statement.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <mysql_connection.h>
#include <mysql_driver.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "driver_under_test.h"  // test_setting()

extern char** environ;  // NOLINT(readability-redundant-declaration): for posix_spawn

namespace xatm::testing {
namespace {

using std::chrono::seconds;
using std::chrono::steady_clock;

// A child process whose standard input and output are pipes of ours.
class Child {
 public:
  explicit Child(const std::vector<std::string>& argv) {
    int in[2], out[2];
    if (pipe(in) != 0 || pipe(out) != 0) return;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in[0], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    for (int fd : {in[0], in[1], out[0], out[1]}) posix_spawn_file_actions_addclose(&actions, fd);
    std::vector<char*> args;
    for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);
    if (posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
    close(in[0]);
    close(out[1]);
    stdin_ = in[1];
    stdout_ = out[0];
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  // Closes its input; kills it (SIGKILL, by pid) if it has not exited 5 s later.
  ~Child() {
    if (pid_ > 0 && !exit_status(seconds(5))) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (stdout_ >= 0) close(stdout_);
  }

  bool started() const { return pid_ > 0; }

  // The next line it printed, without the newline; nullopt at EOF or past `deadline`.
  std::optional<std::string> read_line(steady_clock::time_point deadline) {
    for (;;) {
      const std::size_t newline = buffered_.find('\n');
      if (newline != std::string::npos) {
        std::string line = buffered_.substr(0, newline);
        buffered_.erase(0, newline + 1);
        return line;
      }
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady_clock::now());
      pollfd readable{.fd = stdout_, .events = POLLIN, .revents = 0};
      if (left.count() <= 0 || poll(&readable, 1, static_cast<int>(left.count())) <= 0)
        return std::nullopt;
      std::array<char, 4096> chunk{};
      const ssize_t got = read(stdout_, chunk.data(), chunk.size());
      if (got <= 0) return std::nullopt;
      buffered_.append(chunk.data(), static_cast<std::size_t>(got));
    }
  }

  // Closes its standard input and waits up to `limit` for it to exit; its exit code, or nullopt.
  std::optional<int> exit_status(std::chrono::milliseconds limit) {
    if (stdin_ >= 0) close(stdin_);
    stdin_ = -1;
    const auto deadline = steady_clock::now() + limit;
    while (pid_ > 0) {
      int status = 0;
      const pid_t done = waitpid(pid_, &status, WNOHANG);
      if (done == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      if (steady_clock::now() > deadline) return std::nullopt;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return std::nullopt;
  }

 private:
  pid_t pid_ = -1;
  int stdin_ = -1;
  int stdout_ = -1;
  std::string buffered_;
};

// GET http://127.0.0.1:<port><path> (HTTP/1.0: the server closes after the answer): the body,
// or an empty string after a failure of the test.
std::string http_get(int port, const std::string& path) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval timeout{.tv_sec = 10, .tv_usec = 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ADD_FAILURE() << "cannot connect to 127.0.0.1:" << port;
    close(fd);
    return "";
  }
  const std::string request = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  EXPECT_EQ(write(fd, request.data(), request.size()), static_cast<ssize_t>(request.size()));
  std::string response;
  std::array<char, 8192> chunk{};
  for (ssize_t got; (got = read(fd, chunk.data(), chunk.size())) > 0;) {
    response.append(chunk.data(), static_cast<std::size_t>(got));
  }
  close(fd);
  const std::size_t body = response.find("\r\n\r\n");
  EXPECT_EQ(response.compare(0, 12, "HTTP/1.1 200"), 0) << response.substr(0, 200);
  return body == std::string::npos ? "" : response.substr(body + 4);
}

// The value of the sample `name` in Prometheus's text format whose labels include every one of
// `labels` (each written k="v"); NaN when there is none.
double sample(const std::string& exposition, const std::string& name,
              const std::vector<std::string>& labels) {
  std::istringstream lines(exposition);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(name + "{", 0) != 0 && line.rfind(name + " ", 0) != 0) continue;
    const std::size_t close = line.rfind('}');
    const std::string label_text = close == std::string::npos ? "" : line.substr(0, close);
    bool all = true;
    for (const std::string& label : labels)
      all = all && label_text.find(label) != std::string::npos;
    if (all) return std::stod(line.substr(line.rfind(' ') + 1));
  }
  return std::nan("");
}

class OrderServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    log_dir_ = std::filesystem::temp_directory_path() /
               ("xatm-order-service-test-" + std::to_string(getpid()));
    std::filesystem::remove_all(log_dir_);
  }
  void TearDown() override { std::filesystem::remove_all(log_dir_); }

  std::vector<std::string> command() const {
    return {XATM_ORDER_SERVICE,
            "--mysql-socket",
            test_setting("MYSQL_SOCKET"),
            "--mysql-user",
            test_setting("MYSQL_USER"),
            "--mysql-password",
            test_setting("MYSQL_PASSWORD"),
            "--mysql-database",
            test_setting("MYSQL_DATABASE"),
            "--pg-conninfo",
            test_setting("PG_CONNINFO"),
            "--log-dir",
            log_dir_.string(),
            "--node",
            "order-test",
            "--metrics",
            "127.0.0.1:0",
            "--serve-until-eof"};
  }

  std::filesystem::path log_dir_;
};

// What the example left in the databases: stock per sku (MariaDB), number of orders (PostgreSQL).
std::map<std::string, int> stock_left() {
  sql::ConnectOptionsMap options;
  options["hostName"] = sql::SQLString("unix://" + test_setting("MYSQL_SOCKET"));
  options["userName"] = sql::SQLString(test_setting("MYSQL_USER"));
  options["password"] = sql::SQLString(test_setting("MYSQL_PASSWORD"));
  options["schema"] = sql::SQLString(test_setting("MYSQL_DATABASE"));
  std::unique_ptr<sql::Connection> mariadb(
      sql::mysql::get_mysql_driver_instance()->connect(options));
  std::unique_ptr<sql::Statement> statement(mariadb->createStatement());
  std::unique_ptr<sql::ResultSet> rows(
      statement->executeQuery("SELECT sku, available FROM shop_stock"));
  std::map<std::string, int> stock;
  while (rows->next()) stock[rows->getString(1)] = rows->getInt(2);
  return stock;
}

int orders_placed() {
  PGconn* postgres = PQconnectdb(test_setting("PG_CONNINFO").c_str());
  PGresult* result = PQexec(postgres, "SELECT count(*) FROM shop_orders");
  const int count =
      PQresultStatus(result) == PGRES_TUPLES_OK ? std::atoi(PQgetvalue(result, 0, 0)) : -1;
  PQclear(result);
  PQfinish(postgres);
  return count;
}

TEST_F(OrderServiceTest, ItsMetricsCountTheOrdersItPlaced) {
  Child service(command());
  ASSERT_TRUE(service.started()) << XATM_ORDER_SERVICE;
  const auto deadline = steady_clock::now() + seconds(60);
  const std::regex metrics_line(R"(metrics at http://127\.0\.0\.1:(\d+)/metrics)");
  int port = 0, committed_lines = 0;
  bool done = false, refused = false;
  while (std::optional<std::string> line = service.read_line(deadline)) {
    std::cout << "  | " << *line << "\n";
    std::smatch match;
    if (std::regex_search(*line, match, metrics_line)) port = std::stoi(match[1]);
    committed_lines += line->find(": committed as order #") != std::string::npos;
    refused = refused || line->find("order 3: carol, 5 x gadget: rolled back: out of stock") == 0;
    if (line->find("order_service: done: ") == 0) {
      EXPECT_EQ(*line, "order_service: done: 5 committed, 1 out of stock, 0 failed");
      done = true;
      break;
    }
  }
  ASSERT_TRUE(done) << "order_service did not finish its orders within 60 s";
  ASSERT_GT(port, 0) << "order_service printed no metrics port";
  EXPECT_EQ(committed_lines, 5);
  EXPECT_TRUE(refused) << "the out-of-stock order was not reported as such";

  const std::string metrics = http_get(port, "/metrics");
  const std::string node = R"(node="order-test")";
  EXPECT_EQ(sample(metrics, "xatm_transactions_begun_total", {node}), 6);
  EXPECT_EQ(sample(metrics, "xatm_transactions_total", {node, R"(outcome="committed")"}), 5);
  EXPECT_EQ(sample(metrics, "xatm_transactions_total", {node, R"(outcome="rolled_back")"}), 1);
  EXPECT_EQ(sample(metrics, "xatm_transactions_total", {node, R"(outcome="heuristic")"}), 0);
  EXPECT_EQ(sample(metrics, "xatm_transactions_total", {node, R"(outcome="unknown")"}), 0);
  EXPECT_EQ(sample(metrics, "xatm_transactions_in_flight", {node}), 0);
  EXPECT_EQ(sample(metrics, "xatm_in_doubt_branches", {node}), 0);
  // Five orders committed in two phases (two writing branches), one refused with rollback().
  const std::string two_phase = R"(path="two_phase")";
  EXPECT_EQ(sample(metrics, "xatm_commit_duration_seconds_count", {node, two_phase}), 5);
  EXPECT_EQ(
      sample(metrics, "xatm_commit_duration_seconds_bucket", {node, two_phase, R"(le="+Inf")"}), 5);
  EXPECT_GT(sample(metrics, "xatm_commit_duration_seconds_sum", {node, two_phase}), 0);
  EXPECT_EQ(sample(metrics, "xatm_commit_duration_seconds_count", {node, R"(path="rollback")"}), 1);
  for (const char* phase : {R"(phase="prepare")", R"(phase="decision")", R"(phase="commit")"}) {
    EXPECT_EQ(sample(metrics, "xatm_phase_duration_seconds_count", {node, two_phase, phase}), 5)
        << phase;
  }

  EXPECT_EQ(service.exit_status(seconds(10)), 0) << "closing its input must end it, with success";
  EXPECT_EQ(stock_left(), (std::map<std::string, int>{{"gadget", 0}, {"gizmo", 4}, {"widget", 5}}));
  EXPECT_EQ(orders_placed(), 5);
}

}  // namespace
}  // namespace xatm::testing
