//! The `#[repr(C)]` dma-heap / dma-buf mirrors of `request_api::dmabuf` and
//! their ioctl numbers against the system's <linux/dma-heap.h> and
//! <linux/dma-buf.h>: a C program compiled here prints the C values.

mod common;

use std::mem::{offset_of, size_of};

use request_api::dmabuf::*;

fn c_values() -> String {
    common::c_probe_output(
        "dmabuf",
        r#"#include <stdio.h>
#include <stddef.h>
#include <linux/dma-heap.h>
#include <linux/dma-buf.h>
int main(void) {
    printf("alloc size %zu len %zu fd %zu fd_flags %zu heap_flags %zu\n",
        sizeof(struct dma_heap_allocation_data),
        offsetof(struct dma_heap_allocation_data, len),
        offsetof(struct dma_heap_allocation_data, fd),
        offsetof(struct dma_heap_allocation_data, fd_flags),
        offsetof(struct dma_heap_allocation_data, heap_flags));
    printf("sync size %zu\n", sizeof(struct dma_buf_sync));
    printf("DMA_HEAP_IOCTL_ALLOC %lu\nDMA_BUF_IOCTL_SYNC %lu\n",
        (unsigned long)DMA_HEAP_IOCTL_ALLOC, (unsigned long)DMA_BUF_IOCTL_SYNC);
    printf("READ %llu WRITE %llu START %llu END %llu\n",
        (unsigned long long)DMA_BUF_SYNC_READ, (unsigned long long)DMA_BUF_SYNC_WRITE,
        (unsigned long long)DMA_BUF_SYNC_START, (unsigned long long)DMA_BUF_SYNC_END);
    return 0;
}
"#,
        "the probe against <linux/dma-heap.h>",
    )
}

#[test]
fn dmabuf_structs_and_ioctls_match_the_uapi_headers() {
    let rust = format!(
        "alloc size {} len {} fd {} fd_flags {} heap_flags {}\nsync size {}\n\
DMA_HEAP_IOCTL_ALLOC {}\nDMA_BUF_IOCTL_SYNC {}\nREAD {} WRITE {} START {} END {}\n",
        size_of::<DmaHeapAllocationData>(),
        offset_of!(DmaHeapAllocationData, len),
        offset_of!(DmaHeapAllocationData, fd),
        offset_of!(DmaHeapAllocationData, fd_flags),
        offset_of!(DmaHeapAllocationData, heap_flags),
        size_of::<DmaBufSync>(),
        DMA_HEAP_IOCTL_ALLOC,
        DMA_BUF_IOCTL_SYNC,
        SYNC_READ,
        SYNC_WRITE,
        SYNC_START,
        SYNC_END,
    );
    assert_eq!(rust, c_values());
}
