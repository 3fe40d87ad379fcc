#ifndef COOP_CPROTOBUFC_SHIM_H
#define COOP_CPROTOBUFC_SHIM_H
#include <protobuf-c/protobuf-c.h>
#endif
