#include "xatm/status.h"

#include <gtest/gtest.h>

#include <string>

namespace xatm {
namespace {

TEST(StatusTest, DefaultIsOk) {
  Status status;
  EXPECT_TRUE(status.ok());
  EXPECT_EQ(status.to_string(), "OK");
}

TEST(StatusTest, ErrorCarriesCodeAndMessage) {
  Status status = data_loss_error("segment 000001.log offset 4096: checksum mismatch");
  EXPECT_FALSE(status.ok());
  EXPECT_EQ(status.code(), StatusCode::kDataLoss);
  EXPECT_EQ(status.to_string(), "DataLoss: segment 000001.log offset 4096: checksum mismatch");
}

TEST(StatusTest, ContextIsPrefixed) {
  Status status = unavailable_error("connection refused").with_context("data source 'billing'");
  EXPECT_EQ(status.code(), StatusCode::kUnavailable);
  EXPECT_EQ(status.message(), "data source 'billing': connection refused");
  EXPECT_TRUE(Status().with_context("ignored").ok());
}

TEST(ResultTest, HoldsValueOrError) {
  Result<int> value = 7;
  ASSERT_TRUE(value.ok());
  EXPECT_EQ(*value, 7);

  Result<std::string> error = not_found_error("no data source 'x'");
  EXPECT_FALSE(error.ok());
  EXPECT_EQ(error.status().code(), StatusCode::kNotFound);
}

TEST(ResultTest, OkStatusBecomesInternalError) {
  Result<int> misuse = Status();
  EXPECT_FALSE(misuse.ok());
  EXPECT_EQ(misuse.status().code(), StatusCode::kInternal);
}

}  // namespace
}  // namespace xatm
