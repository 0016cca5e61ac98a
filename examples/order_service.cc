// order_service: places orders, each one global transaction that writes the order in PostgreSQL
// and reserves its stock in MariaDB, and exposes xatm's metrics to Prometheus over HTTP.
//
//   order_service --mysql-socket PATH --mysql-user U --mysql-password P --mysql-database D
//                 --pg-conninfo "host=... dbname=..." [--log-dir DIR] [--node NAME]
//                 [--timeout-ms 5000] [--metrics 127.0.0.1:9464]
//                 [--serve-for SECONDS | --serve-until-eof]
//
// Every database setting may also come from the environment variables XATM_TEST_MYSQL_SOCKET,
// ..., XATM_TEST_PG_CONNINFO that scripts/test-servers.sh env prints. --metrics takes the address
// prometheus-cpp's Exposer binds ("127.0.0.1:0" picks a free port); the bound port is printed.
// After the orders it keeps serving the metrics for --serve-for seconds, or with
// --serve-until-eof until standard input is closed (Ctrl-D), so that a scraper can read them.
//
// What to copy from it: the order of the set-up (data sources, metrics, then start()), a
// timeout on every transaction, prepared statements with bound values on both databases (no
// value is ever pasted into SQL text), an application-level "no" (out of stock) ended with
// rollback(), and an Outcome reported for every order.
//
// Exit status: 0 when every order committed or was refused for want of stock, 1 otherwise.
#include <cppconn/exception.h>
#include <cppconn/prepared_statement.h>
#include <cppconn/statement.h>
#include <libpq-fe.h>
#include <mysql_connection.h>
#include <mysql_driver.h>
#include <prometheus/exposer.h>
#include <prometheus/registry.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <iostream>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "xatm/mysql/mysql.h"
#include "xatm/postgresql/postgresql.h"
#include "xatm/prometheus/metrics.h"
#include "xatm/transaction_manager.h"

namespace {

struct Settings {
  xatm::mysql::DataSource inventory{.name = "inventory"};  // MariaDB: the stock
  xatm::postgresql::DataSource orders{.name = "orders"};   // PostgreSQL: the orders
  std::string node = "orders-1";
  // The decision log must survive restarts: a real service keeps it on durable storage.
  std::string log_dir = (std::filesystem::temp_directory_path() / "xatm-order-service").string();
  std::chrono::milliseconds timeout{5'000};
  std::string metrics_address = "127.0.0.1:9464";
  int serve_for_seconds = 0;
  bool serve_until_eof = false;
};

struct Order {
  std::string customer;
  std::string sku;
  int quantity;
};

// Stock the example starts with, and the orders it places: the third asks for more gadgets
// than are left, so it is refused and rolled back; the others commit.
constexpr std::array<std::pair<const char*, int>, 3> kOpeningStock = {
    {{"widget", 10}, {"gadget", 3}, {"gizmo", 5}}};
const std::vector<Order> kOrders = {
    {"alice", "widget", 2}, {"bob", "gadget", 2},  {"carol", "gadget", 5},
    {"dave", "gizmo", 1},   {"erin", "widget", 3}, {"frank", "gadget", 1},
};

std::string env_or(const char* name, std::string fallback) {
  const char* value = std::getenv(name);  // NOLINT(concurrency-mt-unsafe): read at start-up
  return value != nullptr ? value : fallback;
}

bool set_option(Settings& s, const std::string& flag, const std::string& value) {
  if (flag == "--mysql-socket")
    s.inventory.unix_socket = value;
  else if (flag == "--mysql-user")
    s.inventory.user = value;
  else if (flag == "--mysql-password")
    s.inventory.password = value;
  else if (flag == "--mysql-database")
    s.inventory.database = value;
  else if (flag == "--pg-conninfo")
    s.orders.conninfo = value;
  else if (flag == "--log-dir")
    s.log_dir = value;
  else if (flag == "--node")
    s.node = value;
  else if (flag == "--timeout-ms")
    s.timeout = std::chrono::milliseconds(std::stoi(value));
  else if (flag == "--metrics")
    s.metrics_address = value;
  else if (flag == "--serve-for")
    s.serve_for_seconds = std::stoi(value);
  else
    return false;
  return true;
}

bool parse_args(int argc, char** argv, Settings& s) {
  s.inventory.unix_socket = env_or("XATM_TEST_MYSQL_SOCKET", "");
  s.inventory.user = env_or("XATM_TEST_MYSQL_USER", "xatm");
  s.inventory.password = env_or("XATM_TEST_MYSQL_PASSWORD", "");
  s.inventory.database = env_or("XATM_TEST_MYSQL_DATABASE", "xatm_test");
  s.orders.conninfo = env_or("XATM_TEST_PG_CONNINFO", "");
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--serve-until-eof") {
      s.serve_until_eof = true;
      continue;
    }
    bool known = false;
    try {
      known = i + 1 < argc && set_option(s, flag, argv[i + 1]);
    } catch (const std::exception&) {  // std::stoi of a value that is not a number
    }
    if (!known) {
      std::cerr << "unknown option, or a missing or bad value: " << flag << "\n";
      return false;
    }
    ++i;
  }
  if (s.inventory.unix_socket.empty() || s.orders.conninfo.empty()) {
    std::cerr
        << "set --mysql-socket and --pg-conninfo (or eval \"$(scripts/test-servers.sh env)\")\n";
    return false;
  }
  return true;
}

// --- set-up, through plain (non-XA) connections: DDL cannot run inside an XA branch ---

std::unique_ptr<sql::Connection> connect_mariadb(const xatm::mysql::DataSource& ds) {
  sql::ConnectOptionsMap options;
  options["hostName"] = sql::SQLString("unix://" + ds.unix_socket);
  options["userName"] = sql::SQLString(ds.user);
  options["password"] = sql::SQLString(ds.password);
  options["schema"] = sql::SQLString(ds.database);
  return std::unique_ptr<sql::Connection>(
      sql::mysql::get_mysql_driver_instance()->connect(options));
}

// Fresh tables with the opening stock. Throws sql::SQLException.
void create_stock(sql::Connection& mariadb) {
  std::unique_ptr<sql::Statement> ddl(mariadb.createStatement());
  ddl->execute("DROP TABLE IF EXISTS shop_stock");
  ddl->execute(
      "CREATE TABLE shop_stock (sku VARCHAR(32) PRIMARY KEY, available INT NOT NULL) "
      "ENGINE=InnoDB");
  std::unique_ptr<sql::PreparedStatement> insert(
      mariadb.prepareStatement("INSERT INTO shop_stock (sku, available) VALUES (?, ?)"));
  for (const auto& [sku, available] : kOpeningStock) {
    insert->setString(1, sku);
    insert->setInt(2, available);
    insert->executeUpdate();
  }
}

bool create_orders(PGconn* postgres) {
  for (const char* statement :
       {"SET client_min_messages = warning",  // no NOTICE when the table is not there yet
        "DROP TABLE IF EXISTS shop_orders",
        "CREATE TABLE shop_orders (id BIGSERIAL PRIMARY KEY, customer TEXT NOT NULL, "
        "sku TEXT NOT NULL, quantity INT NOT NULL CHECK (quantity > 0), "
        "placed_at TIMESTAMPTZ NOT NULL DEFAULT now())"}) {
    PGresult* result = PQexec(postgres, statement);
    const bool ok = PQresultStatus(result) == PGRES_COMMAND_OK;
    if (!ok) std::cerr << "postgresql: " << PQresultErrorMessage(result);
    PQclear(result);
    if (!ok) return false;
  }
  return true;
}

bool create_tables(const Settings& settings) {
  try {
    create_stock(*connect_mariadb(settings.inventory));
  } catch (const sql::SQLException& e) {
    std::cerr << "mariadb: " << e.what() << " (" << e.getErrorCode() << ")\n";
    return false;
  }
  PGconn* postgres = PQconnectdb(settings.orders.conninfo.c_str());
  const bool ok = PQstatus(postgres) == CONNECTION_OK && create_orders(postgres);
  if (PQstatus(postgres) != CONNECTION_OK) std::cerr << "postgresql: " << PQerrorMessage(postgres);
  PQfinish(postgres);
  return ok;
}

// --- one order: one global transaction ---

struct Placed {
  xatm::Outcome outcome;
  bool out_of_stock = false;
  std::optional<std::int64_t> order_id;
};

// Takes `order.quantity` off the stock in MariaDB; false when fewer are left. The row stays
// locked until the global transaction ends, so two orders cannot both take the last item.
// Throws sql::SQLException.
bool reserve_stock(sql::Connection& inventory, const Order& order) {
  std::unique_ptr<sql::PreparedStatement> reserve(inventory.prepareStatement(
      "UPDATE shop_stock SET available = available - ? WHERE sku = ? AND available >= ?"));
  reserve->setInt(1, order.quantity);
  reserve->setString(2, order.sku);
  reserve->setInt(3, order.quantity);
  return reserve->executeUpdate() == 1;
}

// Inserts the order in PostgreSQL and returns its id; the values travel as parameters, apart
// from the SQL text. nullopt (and `error`) when the INSERT fails.
std::optional<std::int64_t> insert_order(PGconn* orders, const Order& order, std::string& error) {
  const std::string quantity = std::to_string(order.quantity);
  const std::array<const char*, 3> values = {order.customer.c_str(), order.sku.c_str(),
                                             quantity.c_str()};
  PGresult* result = PQexecParams(
      orders,
      "INSERT INTO shop_orders (customer, sku, quantity) VALUES ($1, $2, $3::int) RETURNING id",
      static_cast<int>(values.size()), nullptr, values.data(), nullptr, nullptr, 0);
  std::optional<std::int64_t> id;
  if (PQresultStatus(result) == PGRES_TUPLES_OK) {
    id = std::stoll(PQgetvalue(result, 0, 0));
  } else {
    error = std::string("inserting the order: ") + PQresultErrorMessage(result);
  }
  PQclear(result);
  return id;
}

// The work of one order inside `tx`. Stock first: every order locks MariaDB's row before it
// writes PostgreSQL, so two orders never wait for each other across the two databases.
Placed do_order(xatm::Transaction& tx, const Order& order) {
  Placed placed;
  xatm::Result<sql::Connection*> inventory = xatm::mysql::connection(tx, "inventory");
  xatm::Result<PGconn*> orders = xatm::postgresql::connection(tx, "orders");
  if (!inventory.ok() || !orders.ok()) {
    tx.set_rollback_only(!inventory.ok() ? inventory.status().to_string()
                                         : orders.status().to_string());
    placed.outcome = tx.commit();  // rolls back: says why
    return placed;
  }
  std::string error;
  try {
    if (!reserve_stock(**inventory, order)) {
      placed.out_of_stock = true;
      placed.outcome = tx.rollback();  // nothing reserved, nothing written: let it all go
      return placed;
    }
    placed.order_id = insert_order(*orders, order, error);
  } catch (const sql::SQLException& e) {
    error = std::string("reserving stock: ") + e.what();
  }
  // A failed statement leaves the branch unusable: commit() of a rollback-only transaction
  // rolls every branch back and reports `error` as the reason.
  if (!placed.order_id) tx.set_rollback_only(error);
  placed.outcome = tx.commit();
  return placed;
}

Placed place_order(xatm::TransactionManager& tm, const Order& order,
                   std::chrono::milliseconds timeout) {
  // Past its timeout the TM's reaper rolls the transaction back even while a statement is
  // stuck (it ends the branch's database session, which cancels the statement and releases
  // its locks), so no order holds its locks much longer than `timeout`.
  xatm::Result<xatm::Transaction> tx = tm.begin(timeout);
  if (!tx.ok())
    return {xatm::Outcome{xatm::Outcome::Kind::kRolledBack, tx.status().to_string(), {}}};
  return do_order(*tx, order);
}

void report(std::size_t number, const Order& order, const Placed& placed) {
  std::cout << "order " << number << ": " << order.customer << ", " << order.quantity << " x "
            << order.sku << ": ";
  if (placed.outcome.committed()) {
    std::cout << "committed as order #" << placed.order_id.value_or(0) << "\n";
  } else if (placed.out_of_stock && placed.outcome.rolled_back()) {
    std::cout << "rolled back: out of stock (fewer than " << order.quantity << " left)\n";
  } else {
    // Unknown or heuristic outcomes need an operator: recovery finishes the branches, and
    // xatm-recover shows what is still in doubt.
    std::cout << placed.outcome.to_string() << "\n";
  }
}

// Starts prometheus-cpp's HTTP exposer on `address` serving `registry` at /metrics; null (and a
// message) when it cannot bind.
std::unique_ptr<prometheus::Exposer> expose(const std::string& address,
                                            const std::shared_ptr<prometheus::Registry>& registry) {
  try {
    auto exposer = std::make_unique<prometheus::Exposer>(address, 1);
    exposer->RegisterCollectable(registry);
    // The port actually bound: the one asked for, or the one the system chose for port 0.
    const std::vector<int> ports = exposer->GetListeningPorts();
    const std::size_t colon = address.rfind(':');
    std::cout << "order_service: metrics at http://"
              << (colon == std::string::npos ? "0.0.0.0" : address.substr(0, colon)) << ":"
              << (ports.empty() ? 0 : ports.front()) << "/metrics" << std::endl;
    return exposer;
  } catch (const std::exception& e) {
    std::cerr << "cannot serve metrics on " << address << ": " << e.what() << "\n";
    return nullptr;
  }
}

void keep_serving(const Settings& settings) {
  if (settings.serve_until_eof) {
    std::cout << "order_service: serving metrics until standard input closes" << std::endl;
    std::cin.ignore(std::numeric_limits<std::streamsize>::max());
  } else if (settings.serve_for_seconds > 0) {
    std::cout << "order_service: serving metrics for " << settings.serve_for_seconds << " s"
              << std::endl;
    std::this_thread::sleep_for(std::chrono::seconds(settings.serve_for_seconds));
  }
}

}  // namespace

int main(int argc, char** argv) {
  Settings settings;
  if (!parse_args(argc, argv, settings) || !create_tables(settings)) return 2;

  // Destroyed in reverse: the exposer, the metrics (before the TM and the registry they use),
  // the TM, the registry.
  auto registry = std::make_shared<prometheus::Registry>();
  // No create_log_if_missing: a first start creates the log by itself, and a later one that
  // finds no log while a database holds this node's prepared branches must stop, not guess.
  xatm::TransactionManager tm({.node_name = settings.node, .log_dir = settings.log_dir});
  for (xatm::Status status : {tm.add(settings.inventory), tm.add(settings.orders)}) {
    if (!status.ok()) {
      std::cerr << status.to_string() << "\n";
      return 1;
    }
  }
  // Before start(): the metrics add a TransactionObserver for the latency histograms.
  xatm::Result<xatm::prometheus::Metrics> metrics =
      xatm::prometheus::register_metrics(tm, *registry);  // label node="<settings.node>"
  xatm::Status started = metrics.ok() ? tm.start() : metrics.status();
  if (!started.ok()) {
    std::cerr << started.to_string() << "\n";
    return 1;
  }
  std::unique_ptr<prometheus::Exposer> exposer = expose(settings.metrics_address, registry);
  if (exposer == nullptr) return 1;

  int committed = 0, out_of_stock = 0, failed = 0;
  for (std::size_t i = 0; i < kOrders.size(); ++i) {
    const Placed placed = place_order(tm, kOrders[i], settings.timeout);
    report(i + 1, kOrders[i], placed);
    if (placed.outcome.committed())
      ++committed;
    else if (placed.out_of_stock && placed.outcome.rolled_back())
      ++out_of_stock;
    else
      ++failed;
  }
  metrics->refresh();  // a scrape from now on sees every order in the counters
  std::cout << "order_service: done: " << committed << " committed, " << out_of_stock
            << " out of stock, " << failed << " failed" << std::endl;
  keep_serving(settings);
  return failed == 0 ? 0 : 1;
}
