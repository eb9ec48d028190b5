// Convenience header: every layer, the Module base and initialisation.
#pragma once
#include "layers/basic.h"
#include "layers/batchnorm.h"
#include "layers/conv.h"
#include "layers/init.h"
#include "layers/module.h"
#include "layers/pool.h"
#include "layers/sequential.h"
