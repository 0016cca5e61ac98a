#include "xatm/status.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "testing/status_matchers.h"

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

// Reading the value of an error is a bug: the process stops and says which error it was,
// instead of reading an empty optional (undefined behaviour before).
TEST(ResultDeathTest, ValueOfAnErrorAbortsWithTheStatus) {
  Result<std::string> error = not_found_error("no data source 'x'");
  EXPECT_DEATH((void)error.value(), "Result::value\\(\\) of an error: NotFound: no data source 'x'");
  EXPECT_DEATH((void)error->size(), "NotFound: no data source 'x'");
  EXPECT_DEATH((void)*std::move(error), "NotFound");
}

Result<int> half(Result<int> input) {
  XATM_ASSIGN_OR_RETURN(const int value, std::move(input));
  if (value % 2 != 0) return invalid_argument_error("odd");
  return value / 2;
}

TEST(ResultTest, AssignOrReturnPassesTheErrorOn) {
  using xatm::testing::IsOk;
  using xatm::testing::StatusIs;
  EXPECT_EQ(*half(8), 4);
  EXPECT_THAT(half(8), IsOk());
  EXPECT_THAT(half(unavailable_error("down")), StatusIs(StatusCode::kUnavailable, ::testing::HasSubstr("down")));
  EXPECT_THAT(half(3), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(Status(), IsOk());
  EXPECT_THAT(Status(), ::testing::Not(StatusIs(StatusCode::kInternal)));
}

}  // namespace
}  // namespace xatm
