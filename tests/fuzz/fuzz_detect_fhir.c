/*
 * fuzz_detect_fhir.c - libFuzzer target for the fhir content detector: any
 * bytes, fed whole and at random split points, must give the same messages
 * and keep detect.h's promises (see detect_fuzz.h).
 */
#include "detect_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_detector(DETECT_FHIR, data, size);
}
