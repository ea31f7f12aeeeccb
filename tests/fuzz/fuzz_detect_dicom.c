/*
 * fuzz_detect_dicom.c - libFuzzer target for the dicom content detector: any
 * bytes, read as a file head and as a stream fed whole and at random split points, must give the same messages
 * and keep detect.h's promises (see detect_fuzz.h).
 */
#include "detect_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct detect_message m;
	const char *why = NULL;

	if (detect_dicom_file(data, size, &m, &why) == 0)
		fuzz_check_message(&m);
	else if (why == NULL)
		abort();
	return fuzz_detector(DETECT_DICOM, data, size);
}
