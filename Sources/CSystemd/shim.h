#ifndef COOP_CSYSTEMD_SHIM_H
#define COOP_CSYSTEMD_SHIM_H
#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>
#endif
