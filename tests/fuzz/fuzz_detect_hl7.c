/*
 * fuzz_detect_hl7.c - libFuzzer target for the hl7 content detector: any
 * bytes, fed whole and at random split points, must give the same messages
 * and keep detect.h's promises (see detect_fuzz.h).
 */
#include "detect_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_detector(DETECT_HL7, data, size);
}
