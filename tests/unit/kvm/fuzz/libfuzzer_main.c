/* libFuzzer entry point for virtio_target.c. */
#include <stddef.h>
#include <stdint.h>

int virtio_target_run(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    virtio_target_run(data, size);
    return 0;
}
