// Catch2 2.13's main, with the TAP reporter compiled in for meson.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
#include <catch2/catch_reporter_tap.hpp>
