// gMock matchers for Status and Result<T>:
//
//   EXPECT_THAT(tm.start(), StatusIs(StatusCode::kFailedPrecondition));
//   EXPECT_THAT(open_file_log(options), StatusIs(StatusCode::kNotFound, HasSubstr("no log")));
//   EXPECT_THAT(tm.add(source), IsOk());
//
// On a mismatch they print the code and message that were there.
#ifndef XATM_TESTING_STATUS_MATCHERS_H_
#define XATM_TESTING_STATUS_MATCHERS_H_

#include <gmock/gmock.h>

#include "xatm/status.h"

namespace xatm::testing {

inline const Status& status_of(const Status& status) { return status; }
template <typename T>
const Status& status_of(const Result<T>& result) {
  return result.status();
}

MATCHER_P(StatusIs, code, "has status code " + ::testing::PrintToString(code)) {
  const Status& status = status_of(arg);
  *result_listener << "which is " << status.to_string();
  return status.code() == code;
}

MATCHER_P2(StatusIs, code, message_matcher,
           "has status code " + ::testing::PrintToString(code) + " and a message that " +
               ::testing::DescribeMatcher<std::string>(message_matcher)) {
  const Status& status = status_of(arg);
  *result_listener << "which is " << status.to_string();
  return status.code() == code &&
         ::testing::ExplainMatchResult(message_matcher, status.message(), result_listener);
}

MATCHER(IsOk, "is OK") {
  const Status& status = status_of(arg);
  *result_listener << "which is " << status.to_string();
  return status.ok();
}

}  // namespace xatm::testing

#endif  // XATM_TESTING_STATUS_MATCHERS_H_
