// A check the TAP reporter (catch_main.cpp) runs after every test case, once
// the case's own objects are gone: what it returns, if not empty, fails the
// case and is printed with it. Unset, nothing more is checked.
#pragma once

#include <string>

namespace nagare::test {

// A plain pointer, so it is set before any constructor runs.
extern std::string (*case_end_check)();

}  // namespace nagare::test
