/* SPDX-License-Identifier: MIT */
/*
 * Every struct, union, typedef, enum and constant that include/pvio/io/
 * defines, paired with its Xen 4.17 counterpart.  See compat_entry.h for
 * the macros.  Adding a definition to a pvio/io header without an entry
 * here fails the "completeness" case of test_compat.
 *
 * No include guard: included once by each side.
 */

/* ---- xen_types.h ---------------------------------------------------- */
S(N, pvio_domid_t, domid_t)
S(H64, pvio_xen_pfn_t, xen_pfn_t)
S(H64, pvio_guest_handle_t, XEN_GUEST_HANDLE(uint64_t))
C(N, DOMID_FIRST_RESERVED)
C(N, DOMID_SELF)
C(N, DOMID_IO)
C(N, DOMID_XEN)
C(N, DOMID_COW)
C(N, DOMID_INVALID)
C(N, DOMID_IDLE)
C(N, DOMID_MASK)
C(N, XEN_PAGE_SHIFT)
/* Xen's public headers have no XEN_PAGE_SIZE (Linux does). */
CX(N, XEN_PAGE_SIZE, 1UL << XEN_PAGE_SHIFT)

/* ---- ring.h --------------------------------------------------------- */
S(N, pvio_ring_idx_t, RING_IDX)
/* pvio names the 64-byte header; Xen inlines it in every sring. */
SX(N, struct pvio_sring_header, offsetof(struct netif_tx_sring, ring),
   _Alignof(RING_IDX))
F2(N, struct pvio_sring_header, req_prod, struct netif_tx_sring, req_prod)
F2(N, struct pvio_sring_header, req_event, struct netif_tx_sring, req_event)
F2(N, struct pvio_sring_header, rsp_prod, struct netif_tx_sring, rsp_prod)
F2(N, struct pvio_sring_header, rsp_event, struct netif_tx_sring, rsp_event)
F2(N, struct pvio_sring_header, pvt_pad, struct netif_tx_sring, pvt.pvt_pad)
F2(N, struct pvio_sring_header, pad, struct netif_tx_sring, __pad)
CX(N, PVIO_RING_HEADER_SIZE, offsetof(struct netif_tx_sring, ring))

/* ---- grant_table.h -------------------------------------------------- */
S(N, pvio_grant_ref_t, grant_ref_t)
S(N, pvio_grant_handle_t, grant_handle_t)
S(N, pvio_grant_status_t, grant_status_t)

S(N, struct pvio_grant_entry_v1, struct grant_entry_v1)
F(N, struct pvio_grant_entry_v1, struct grant_entry_v1, flags)
F(N, struct pvio_grant_entry_v1, struct grant_entry_v1, domid)
F(N, struct pvio_grant_entry_v1, struct grant_entry_v1, frame)

C(N, GNTTAB_NR_RESERVED_ENTRIES)
C(N, GNTTAB_RESERVED_CONSOLE)
C(N, GNTTAB_RESERVED_XENSTORE)
C(N, GTF_invalid)
C(N, GTF_permit_access)
C(N, GTF_accept_transfer)
C(N, GTF_transitive)
C(N, GTF_type_mask)
C(N, _GTF_readonly)
C(N, GTF_readonly)
C(N, _GTF_reading)
C(N, GTF_reading)
C(N, _GTF_writing)
C(N, GTF_writing)
C(N, _GTF_PWT)
C(N, GTF_PWT)
C(N, _GTF_PCD)
C(N, GTF_PCD)
C(N, _GTF_PAT)
C(N, GTF_PAT)
C(N, _GTF_sub_page)
C(N, GTF_sub_page)
C(N, _GTF_transfer_committed)
C(N, GTF_transfer_committed)
C(N, _GTF_transfer_completed)
C(N, GTF_transfer_completed)

S(N, struct pvio_grant_entry_header, struct grant_entry_header)
F(N, struct pvio_grant_entry_header, struct grant_entry_header, flags)
F(N, struct pvio_grant_entry_header, struct grant_entry_header, domid)

S(N, union pvio_grant_entry_v2, union grant_entry_v2)
F(N, union pvio_grant_entry_v2, union grant_entry_v2, hdr)
F(N, union pvio_grant_entry_v2, union grant_entry_v2, full_page.hdr)
F(N, union pvio_grant_entry_v2, union grant_entry_v2, full_page.pad0)
F(N, union pvio_grant_entry_v2, union grant_entry_v2, full_page.frame)
F(N, union pvio_grant_entry_v2, union grant_entry_v2, sub_page.hdr)
F(N, union pvio_grant_entry_v2, union grant_entry_v2, sub_page.page_off)
F(N, union pvio_grant_entry_v2, union grant_entry_v2, sub_page.length)
F(N, union pvio_grant_entry_v2, union grant_entry_v2, sub_page.frame)
F(N, union pvio_grant_entry_v2, union grant_entry_v2, transitive.hdr)
F(N, union pvio_grant_entry_v2, union grant_entry_v2, transitive.trans_domid)
F(N, union pvio_grant_entry_v2, union grant_entry_v2, transitive.pad0)
F(N, union pvio_grant_entry_v2, union grant_entry_v2, transitive.gref)
F(N, union pvio_grant_entry_v2, union grant_entry_v2, __spacer)

C(N, GNTTABOP_map_grant_ref)
C(N, GNTTABOP_unmap_grant_ref)
C(N, GNTTABOP_setup_table)
C(N, GNTTABOP_dump_table)
C(N, GNTTABOP_transfer)
C(N, GNTTABOP_copy)
C(N, GNTTABOP_query_size)
C(N, GNTTABOP_unmap_and_replace)
C(N, GNTTABOP_set_version)
C(N, GNTTABOP_get_status_frames)
C(N, GNTTABOP_get_version)
C(N, GNTTABOP_swap_grant_ref)
C(N, GNTTABOP_cache_flush)

S(N, struct pvio_gnttab_map_grant_ref, struct gnttab_map_grant_ref)
F(N, struct pvio_gnttab_map_grant_ref, struct gnttab_map_grant_ref, host_addr)
F(N, struct pvio_gnttab_map_grant_ref, struct gnttab_map_grant_ref, flags)
F(N, struct pvio_gnttab_map_grant_ref, struct gnttab_map_grant_ref, ref)
F(N, struct pvio_gnttab_map_grant_ref, struct gnttab_map_grant_ref, dom)
F(N, struct pvio_gnttab_map_grant_ref, struct gnttab_map_grant_ref, status)
F(N, struct pvio_gnttab_map_grant_ref, struct gnttab_map_grant_ref, handle)
F(N, struct pvio_gnttab_map_grant_ref, struct gnttab_map_grant_ref,
  dev_bus_addr)

S(N, struct pvio_gnttab_unmap_grant_ref, struct gnttab_unmap_grant_ref)
F(N, struct pvio_gnttab_unmap_grant_ref, struct gnttab_unmap_grant_ref,
  host_addr)
F(N, struct pvio_gnttab_unmap_grant_ref, struct gnttab_unmap_grant_ref,
  dev_bus_addr)
F(N, struct pvio_gnttab_unmap_grant_ref, struct gnttab_unmap_grant_ref, handle)
F(N, struct pvio_gnttab_unmap_grant_ref, struct gnttab_unmap_grant_ref, status)

S(H64, struct pvio_gnttab_setup_table, struct gnttab_setup_table)
F(H64, struct pvio_gnttab_setup_table, struct gnttab_setup_table, dom)
F(H64, struct pvio_gnttab_setup_table, struct gnttab_setup_table, nr_frames)
F(H64, struct pvio_gnttab_setup_table, struct gnttab_setup_table, status)
F(H64, struct pvio_gnttab_setup_table, struct gnttab_setup_table, frame_list)

S(N, struct pvio_gnttab_dump_table, struct gnttab_dump_table)
F(N, struct pvio_gnttab_dump_table, struct gnttab_dump_table, dom)
F(N, struct pvio_gnttab_dump_table, struct gnttab_dump_table, status)

S(H64, struct pvio_gnttab_transfer, struct gnttab_transfer)
F(H64, struct pvio_gnttab_transfer, struct gnttab_transfer, mfn)
F(H64, struct pvio_gnttab_transfer, struct gnttab_transfer, domid)
F(H64, struct pvio_gnttab_transfer, struct gnttab_transfer, ref)
F(H64, struct pvio_gnttab_transfer, struct gnttab_transfer, status)

C(N, _GNTCOPY_source_gref)
C(N, GNTCOPY_source_gref)
C(N, _GNTCOPY_dest_gref)
C(N, GNTCOPY_dest_gref)

S(H64, struct pvio_gnttab_copy_ptr, struct gnttab_copy_ptr)
F(H64, struct pvio_gnttab_copy_ptr, struct gnttab_copy_ptr, u.ref)
F(H64, struct pvio_gnttab_copy_ptr, struct gnttab_copy_ptr, u.gmfn)
F(H64, struct pvio_gnttab_copy_ptr, struct gnttab_copy_ptr, domid)
F(H64, struct pvio_gnttab_copy_ptr, struct gnttab_copy_ptr, offset)

S(H64, struct pvio_gnttab_copy, struct gnttab_copy)
F(H64, struct pvio_gnttab_copy, struct gnttab_copy, source)
F(H64, struct pvio_gnttab_copy, struct gnttab_copy, source.u.ref)
F(H64, struct pvio_gnttab_copy, struct gnttab_copy, source.domid)
F(H64, struct pvio_gnttab_copy, struct gnttab_copy, source.offset)
F(H64, struct pvio_gnttab_copy, struct gnttab_copy, dest)
F(H64, struct pvio_gnttab_copy, struct gnttab_copy, dest.u.gmfn)
F(H64, struct pvio_gnttab_copy, struct gnttab_copy, dest.domid)
F(H64, struct pvio_gnttab_copy, struct gnttab_copy, dest.offset)
F(H64, struct pvio_gnttab_copy, struct gnttab_copy, len)
F(H64, struct pvio_gnttab_copy, struct gnttab_copy, flags)
F(H64, struct pvio_gnttab_copy, struct gnttab_copy, status)

S(N, struct pvio_gnttab_query_size, struct gnttab_query_size)
F(N, struct pvio_gnttab_query_size, struct gnttab_query_size, dom)
F(N, struct pvio_gnttab_query_size, struct gnttab_query_size, nr_frames)
F(N, struct pvio_gnttab_query_size, struct gnttab_query_size, max_nr_frames)
F(N, struct pvio_gnttab_query_size, struct gnttab_query_size, status)

S(N, struct pvio_gnttab_unmap_and_replace, struct gnttab_unmap_and_replace)
F(N, struct pvio_gnttab_unmap_and_replace, struct gnttab_unmap_and_replace,
  host_addr)
F(N, struct pvio_gnttab_unmap_and_replace, struct gnttab_unmap_and_replace,
  new_addr)
F(N, struct pvio_gnttab_unmap_and_replace, struct gnttab_unmap_and_replace,
  handle)
F(N, struct pvio_gnttab_unmap_and_replace, struct gnttab_unmap_and_replace,
  status)

S(N, struct pvio_gnttab_set_version, struct gnttab_set_version)
F(N, struct pvio_gnttab_set_version, struct gnttab_set_version, version)

S(H64, struct pvio_gnttab_get_status_frames, struct gnttab_get_status_frames)
F(H64, struct pvio_gnttab_get_status_frames, struct gnttab_get_status_frames,
  nr_frames)
F(H64, struct pvio_gnttab_get_status_frames, struct gnttab_get_status_frames,
  dom)
F(H64, struct pvio_gnttab_get_status_frames, struct gnttab_get_status_frames,
  status)
F(H64, struct pvio_gnttab_get_status_frames, struct gnttab_get_status_frames,
  frame_list)

S(N, struct pvio_gnttab_get_version, struct gnttab_get_version)
F(N, struct pvio_gnttab_get_version, struct gnttab_get_version, dom)
F(N, struct pvio_gnttab_get_version, struct gnttab_get_version, pad)
F(N, struct pvio_gnttab_get_version, struct gnttab_get_version, version)

S(N, struct pvio_gnttab_swap_grant_ref, struct gnttab_swap_grant_ref)
F(N, struct pvio_gnttab_swap_grant_ref, struct gnttab_swap_grant_ref, ref_a)
F(N, struct pvio_gnttab_swap_grant_ref, struct gnttab_swap_grant_ref, ref_b)
F(N, struct pvio_gnttab_swap_grant_ref, struct gnttab_swap_grant_ref, status)

S(N, struct pvio_gnttab_cache_flush, struct gnttab_cache_flush)
F(N, struct pvio_gnttab_cache_flush, struct gnttab_cache_flush, a.dev_bus_addr)
F(N, struct pvio_gnttab_cache_flush, struct gnttab_cache_flush, a.ref)
F(N, struct pvio_gnttab_cache_flush, struct gnttab_cache_flush, offset)
F(N, struct pvio_gnttab_cache_flush, struct gnttab_cache_flush, length)
F(N, struct pvio_gnttab_cache_flush, struct gnttab_cache_flush, op)

C(N, GNTTAB_CACHE_CLEAN)
C(N, GNTTAB_CACHE_INVAL)
C(N, GNTTAB_CACHE_SOURCE_GREF)
C(N, _GNTMAP_device_map)
C(N, GNTMAP_device_map)
C(N, _GNTMAP_host_map)
C(N, GNTMAP_host_map)
C(N, _GNTMAP_readonly)
C(N, GNTMAP_readonly)
C(N, _GNTMAP_application_map)
C(N, GNTMAP_application_map)
C(N, _GNTMAP_contains_pte)
C(N, GNTMAP_contains_pte)
C(N, GNTST_okay)
C(N, GNTST_general_error)
C(N, GNTST_bad_domain)
C(N, GNTST_bad_gntref)
C(N, GNTST_bad_handle)
C(N, GNTST_bad_virt_addr)
C(N, GNTST_bad_dev_addr)
C(N, GNTST_no_device_space)
C(N, GNTST_permission_denied)
C(N, GNTST_bad_page)
C(N, GNTST_bad_copy_arg)
C(N, GNTST_address_too_big)
C(N, GNTST_eagain)
C(N, GNTST_no_space)

/* ---- event_channel.h ------------------------------------------------ */
S(N, pvio_evtchn_port_t, evtchn_port_t)
C(N, EVTCHNOP_bind_interdomain)
C(N, EVTCHNOP_bind_virq)
C(N, EVTCHNOP_bind_pirq)
C(N, EVTCHNOP_close)
C(N, EVTCHNOP_send)
C(N, EVTCHNOP_status)
C(N, EVTCHNOP_alloc_unbound)
C(N, EVTCHNOP_bind_ipi)
C(N, EVTCHNOP_bind_vcpu)
C(N, EVTCHNOP_unmask)
C(N, EVTCHNOP_reset)
C(N, EVTCHNOP_init_control)
C(N, EVTCHNOP_expand_array)
C(N, EVTCHNOP_set_priority)

S(N, struct pvio_evtchn_alloc_unbound, struct evtchn_alloc_unbound)
F(N, struct pvio_evtchn_alloc_unbound, struct evtchn_alloc_unbound, dom)
F(N, struct pvio_evtchn_alloc_unbound, struct evtchn_alloc_unbound, remote_dom)
F(N, struct pvio_evtchn_alloc_unbound, struct evtchn_alloc_unbound, port)

S(N, struct pvio_evtchn_bind_interdomain, struct evtchn_bind_interdomain)
F(N, struct pvio_evtchn_bind_interdomain, struct evtchn_bind_interdomain,
  remote_dom)
F(N, struct pvio_evtchn_bind_interdomain, struct evtchn_bind_interdomain,
  remote_port)
F(N, struct pvio_evtchn_bind_interdomain, struct evtchn_bind_interdomain,
  local_port)

S(N, struct pvio_evtchn_bind_virq, struct evtchn_bind_virq)
F(N, struct pvio_evtchn_bind_virq, struct evtchn_bind_virq, virq)
F(N, struct pvio_evtchn_bind_virq, struct evtchn_bind_virq, vcpu)
F(N, struct pvio_evtchn_bind_virq, struct evtchn_bind_virq, port)

S(N, struct pvio_evtchn_bind_pirq, struct evtchn_bind_pirq)
F(N, struct pvio_evtchn_bind_pirq, struct evtchn_bind_pirq, pirq)
F(N, struct pvio_evtchn_bind_pirq, struct evtchn_bind_pirq, flags)
F(N, struct pvio_evtchn_bind_pirq, struct evtchn_bind_pirq, port)
C(N, BIND_PIRQ__WILL_SHARE)

S(N, struct pvio_evtchn_bind_ipi, struct evtchn_bind_ipi)
F(N, struct pvio_evtchn_bind_ipi, struct evtchn_bind_ipi, vcpu)
F(N, struct pvio_evtchn_bind_ipi, struct evtchn_bind_ipi, port)

S(N, struct pvio_evtchn_close, struct evtchn_close)
F(N, struct pvio_evtchn_close, struct evtchn_close, port)

S(N, struct pvio_evtchn_send, struct evtchn_send)
F(N, struct pvio_evtchn_send, struct evtchn_send, port)

C(N, EVTCHNSTAT_closed)
C(N, EVTCHNSTAT_unbound)
C(N, EVTCHNSTAT_interdomain)
C(N, EVTCHNSTAT_pirq)
C(N, EVTCHNSTAT_virq)
C(N, EVTCHNSTAT_ipi)

S(N, struct pvio_evtchn_status, struct evtchn_status)
F(N, struct pvio_evtchn_status, struct evtchn_status, dom)
F(N, struct pvio_evtchn_status, struct evtchn_status, port)
F(N, struct pvio_evtchn_status, struct evtchn_status, status)
F(N, struct pvio_evtchn_status, struct evtchn_status, vcpu)
F(N, struct pvio_evtchn_status, struct evtchn_status, u)
F(N, struct pvio_evtchn_status, struct evtchn_status, u.unbound.dom)
F(N, struct pvio_evtchn_status, struct evtchn_status, u.interdomain.dom)
F(N, struct pvio_evtchn_status, struct evtchn_status, u.interdomain.port)
F(N, struct pvio_evtchn_status, struct evtchn_status, u.pirq)
F(N, struct pvio_evtchn_status, struct evtchn_status, u.virq)

S(N, struct pvio_evtchn_bind_vcpu, struct evtchn_bind_vcpu)
F(N, struct pvio_evtchn_bind_vcpu, struct evtchn_bind_vcpu, port)
F(N, struct pvio_evtchn_bind_vcpu, struct evtchn_bind_vcpu, vcpu)

S(N, struct pvio_evtchn_unmask, struct evtchn_unmask)
F(N, struct pvio_evtchn_unmask, struct evtchn_unmask, port)

S(N, struct pvio_evtchn_reset, struct evtchn_reset)
F(N, struct pvio_evtchn_reset, struct evtchn_reset, dom)

S(N, struct pvio_evtchn_init_control, struct evtchn_init_control)
F(N, struct pvio_evtchn_init_control, struct evtchn_init_control, control_gfn)
F(N, struct pvio_evtchn_init_control, struct evtchn_init_control, offset)
F(N, struct pvio_evtchn_init_control, struct evtchn_init_control, vcpu)
F(N, struct pvio_evtchn_init_control, struct evtchn_init_control, link_bits)
F(N, struct pvio_evtchn_init_control, struct evtchn_init_control, _pad)

S(N, struct pvio_evtchn_expand_array, struct evtchn_expand_array)
F(N, struct pvio_evtchn_expand_array, struct evtchn_expand_array, array_gfn)

S(N, struct pvio_evtchn_set_priority, struct evtchn_set_priority)
F(N, struct pvio_evtchn_set_priority, struct evtchn_set_priority, port)
F(N, struct pvio_evtchn_set_priority, struct evtchn_set_priority, priority)

S(N, struct pvio_evtchn_op, struct evtchn_op)
F(N, struct pvio_evtchn_op, struct evtchn_op, cmd)
F(N, struct pvio_evtchn_op, struct evtchn_op, u)
F(N, struct pvio_evtchn_op, struct evtchn_op, u.alloc_unbound)
F(N, struct pvio_evtchn_op, struct evtchn_op, u.bind_interdomain)
F(N, struct pvio_evtchn_op, struct evtchn_op, u.bind_virq)
F(N, struct pvio_evtchn_op, struct evtchn_op, u.bind_pirq)
F(N, struct pvio_evtchn_op, struct evtchn_op, u.bind_ipi)
F(N, struct pvio_evtchn_op, struct evtchn_op, u.close)
F(N, struct pvio_evtchn_op, struct evtchn_op, u.send)
F(N, struct pvio_evtchn_op, struct evtchn_op, u.status)
F(N, struct pvio_evtchn_op, struct evtchn_op, u.bind_vcpu)
F(N, struct pvio_evtchn_op, struct evtchn_op, u.unmask)

/* 64 * 64 on x86_64; Xen's x86_32 value is 32 * 32. */
C(A64, EVTCHN_2L_NR_CHANNELS)

C(N, EVTCHN_FIFO_PRIORITY_MAX)
C(N, EVTCHN_FIFO_PRIORITY_DEFAULT)
C(N, EVTCHN_FIFO_PRIORITY_MIN)
C(N, EVTCHN_FIFO_MAX_QUEUES)
S(N, pvio_event_word_t, event_word_t)
C(N, EVTCHN_FIFO_PENDING)
C(N, EVTCHN_FIFO_MASKED)
C(N, EVTCHN_FIFO_LINKED)
C(N, EVTCHN_FIFO_BUSY)
C(N, EVTCHN_FIFO_LINK_BITS)
C(N, EVTCHN_FIFO_LINK_MASK)
C(N, EVTCHN_FIFO_NR_CHANNELS)

S(N, struct pvio_evtchn_fifo_control_block, struct evtchn_fifo_control_block)
F(N, struct pvio_evtchn_fifo_control_block, struct evtchn_fifo_control_block,
  ready)
F(N, struct pvio_evtchn_fifo_control_block, struct evtchn_fifo_control_block,
  _rsvd)
F(N, struct pvio_evtchn_fifo_control_block, struct evtchn_fifo_control_block,
  head)

/* ---- blkif.h -------------------------------------------------------- */
S(N, pvio_blkif_vdev_t, blkif_vdev_t)
S(N, pvio_blkif_sector_t, blkif_sector_t)
C(N, BLKIF_OP_READ)
C(N, BLKIF_OP_WRITE)
C(N, BLKIF_OP_WRITE_BARRIER)
C(N, BLKIF_OP_FLUSH_DISKCACHE)
C(N, BLKIF_OP_RESERVED_1)
C(N, BLKIF_OP_DISCARD)
C(N, BLKIF_OP_INDIRECT)
C(N, BLKIF_MAX_SEGMENTS_PER_REQUEST)
C(N, BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST)
C(N, BLKIF_DISCARD_SECURE)
C(N, BLKIF_RSP_EOPNOTSUPP)
C(N, BLKIF_RSP_ERROR)
C(N, BLKIF_RSP_OKAY)
C(N, VDISK_CDROM)
C(N, VDISK_REMOVABLE)
C(N, VDISK_READONLY)
/* pvio-only helpers, checked against what Xen's text and types imply. */
CX(N, PVIO_BLKIF_SECTOR_SHIFT, 9)
CX(N, PVIO_BLKIF_SECTOR_SIZE, 512)
CX(N, PVIO_BLKIF_SECTORS_PER_PAGE, (1 << XEN_PAGE_SHIFT) / 512)
CX(N, PVIO_BLKIF_SEGS_PER_INDIRECT_PAGE,
   (1 << XEN_PAGE_SHIFT) / sizeof(struct blkif_request_segment))
CX(N, PVIO_BLKIF_MAX_INDIRECT_SEGMENTS,
   BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST *((1 << XEN_PAGE_SHIFT) /
					  sizeof(struct blkif_request_segment)))

S(N, struct pvio_blkif_request_segment, struct blkif_request_segment)
F(N, struct pvio_blkif_request_segment, struct blkif_request_segment, gref)
F(N, struct pvio_blkif_request_segment, struct blkif_request_segment,
  first_sect)
F(N, struct pvio_blkif_request_segment, struct blkif_request_segment, last_sect)

/* Native layouts. */
S(N, struct pvio_blkif_request, struct blkif_request)
F(N, struct pvio_blkif_request, struct blkif_request, operation)
F(N, struct pvio_blkif_request, struct blkif_request, nr_segments)
F(N, struct pvio_blkif_request, struct blkif_request, handle)
F(N, struct pvio_blkif_request, struct blkif_request, id)
F(N, struct pvio_blkif_request, struct blkif_request, sector_number)
F(N, struct pvio_blkif_request, struct blkif_request, seg)
F(N, struct pvio_blkif_request, struct blkif_request, seg[10].last_sect)

S(N, struct pvio_blkif_request_discard, struct blkif_request_discard)
F(N, struct pvio_blkif_request_discard, struct blkif_request_discard, operation)
F(N, struct pvio_blkif_request_discard, struct blkif_request_discard, flag)
F(N, struct pvio_blkif_request_discard, struct blkif_request_discard, handle)
F(N, struct pvio_blkif_request_discard, struct blkif_request_discard, id)
F(N, struct pvio_blkif_request_discard, struct blkif_request_discard,
  sector_number)
F(N, struct pvio_blkif_request_discard, struct blkif_request_discard,
  nr_sectors)

S(N, struct pvio_blkif_request_indirect, struct blkif_request_indirect)
F(N, struct pvio_blkif_request_indirect, struct blkif_request_indirect,
  operation)
F(N, struct pvio_blkif_request_indirect, struct blkif_request_indirect,
  indirect_op)
F(N, struct pvio_blkif_request_indirect, struct blkif_request_indirect,
  nr_segments)
F(N, struct pvio_blkif_request_indirect, struct blkif_request_indirect, id)
F(N, struct pvio_blkif_request_indirect, struct blkif_request_indirect,
  sector_number)
F(N, struct pvio_blkif_request_indirect, struct blkif_request_indirect, handle)
F(N, struct pvio_blkif_request_indirect, struct blkif_request_indirect,
  indirect_grefs)
#ifdef __i386__
F(N, struct pvio_blkif_request_indirect, struct blkif_request_indirect, pad)
#endif

S(N, struct pvio_blkif_response, struct blkif_response)
F(N, struct pvio_blkif_response, struct blkif_response, id)
F(N, struct pvio_blkif_response, struct blkif_response, operation)
F(N, struct pvio_blkif_response, struct blkif_response, status)
/* Named padding: Xen leaves these bytes unnamed. */
FX(N, struct pvio_blkif_response, _pad1,
   offsetof(struct blkif_response, operation) + 1,
   offsetof(struct blkif_response, status) -
	   offsetof(struct blkif_response, operation) - 1)
#ifndef __i386__
FX(N, struct pvio_blkif_response, _pad2,
   offsetof(struct blkif_response, status) + 2,
   sizeof(struct blkif_response) - offsetof(struct blkif_response, status) - 2)
#endif

RING(N, blkif, blkif)

/* x86_32 ABI layouts, compared with Xen's headers compiled with -m32. */
SX(A32, pvio_blkif_u64_x86_32, sizeof(uint64_t),
   offsetof(struct blkif_request, id))

S(A32, struct pvio_blkif_x86_32_request, struct blkif_request)
F(A32, struct pvio_blkif_x86_32_request, struct blkif_request, operation)
F(A32, struct pvio_blkif_x86_32_request, struct blkif_request, nr_segments)
F(A32, struct pvio_blkif_x86_32_request, struct blkif_request, handle)
F(A32, struct pvio_blkif_x86_32_request, struct blkif_request, id)
F(A32, struct pvio_blkif_x86_32_request, struct blkif_request, sector_number)
F(A32, struct pvio_blkif_x86_32_request, struct blkif_request, seg)
F(A32, struct pvio_blkif_x86_32_request, struct blkif_request,
  seg[10].last_sect)

S(A32, struct pvio_blkif_x86_32_request_discard, struct blkif_request_discard)
F(A32, struct pvio_blkif_x86_32_request_discard, struct blkif_request_discard,
  operation)
F(A32, struct pvio_blkif_x86_32_request_discard, struct blkif_request_discard,
  flag)
F(A32, struct pvio_blkif_x86_32_request_discard, struct blkif_request_discard,
  handle)
F(A32, struct pvio_blkif_x86_32_request_discard, struct blkif_request_discard,
  id)
F(A32, struct pvio_blkif_x86_32_request_discard, struct blkif_request_discard,
  sector_number)
F(A32, struct pvio_blkif_x86_32_request_discard, struct blkif_request_discard,
  nr_sectors)

S(A32, struct pvio_blkif_x86_32_request_indirect, struct blkif_request_indirect)
F(A32, struct pvio_blkif_x86_32_request_indirect, struct blkif_request_indirect,
  operation)
F(A32, struct pvio_blkif_x86_32_request_indirect, struct blkif_request_indirect,
  indirect_op)
F(A32, struct pvio_blkif_x86_32_request_indirect, struct blkif_request_indirect,
  nr_segments)
F(A32, struct pvio_blkif_x86_32_request_indirect, struct blkif_request_indirect,
  id)
F(A32, struct pvio_blkif_x86_32_request_indirect, struct blkif_request_indirect,
  sector_number)
F(A32, struct pvio_blkif_x86_32_request_indirect, struct blkif_request_indirect,
  handle)
F(A32, struct pvio_blkif_x86_32_request_indirect, struct blkif_request_indirect,
  indirect_grefs)
#ifdef __i386__
/* Only the -m32 Xen side has this field; the -m32 pass compares it. */
F(A32, struct pvio_blkif_x86_32_request_indirect, struct blkif_request_indirect,
  pad)
#else
FX(A32, struct pvio_blkif_x86_32_request_indirect, pad, 56, 8)
#endif

S(A32, struct pvio_blkif_x86_32_response, struct blkif_response)
F(A32, struct pvio_blkif_x86_32_response, struct blkif_response, id)
F(A32, struct pvio_blkif_x86_32_response, struct blkif_response, operation)
F(A32, struct pvio_blkif_x86_32_response, struct blkif_response, status)
FX(A32, struct pvio_blkif_x86_32_response, _pad1,
   offsetof(struct blkif_response, operation) + 1,
   offsetof(struct blkif_response, status) -
	   offsetof(struct blkif_response, operation) - 1)

RING(A32, blkif_x86_32, blkif)

/* x86_64 ABI layouts, compared with Xen's x86_64 headers. */
SX(A64, pvio_blkif_u64_x86_64, sizeof(uint64_t),
   offsetof(struct blkif_request, id))

S(A64, struct pvio_blkif_x86_64_request, struct blkif_request)
F(A64, struct pvio_blkif_x86_64_request, struct blkif_request, operation)
F(A64, struct pvio_blkif_x86_64_request, struct blkif_request, nr_segments)
F(A64, struct pvio_blkif_x86_64_request, struct blkif_request, handle)
F(A64, struct pvio_blkif_x86_64_request, struct blkif_request, id)
F(A64, struct pvio_blkif_x86_64_request, struct blkif_request, sector_number)
F(A64, struct pvio_blkif_x86_64_request, struct blkif_request, seg)
F(A64, struct pvio_blkif_x86_64_request, struct blkif_request,
  seg[10].last_sect)

S(A64, struct pvio_blkif_x86_64_request_discard, struct blkif_request_discard)
F(A64, struct pvio_blkif_x86_64_request_discard, struct blkif_request_discard,
  operation)
F(A64, struct pvio_blkif_x86_64_request_discard, struct blkif_request_discard,
  flag)
F(A64, struct pvio_blkif_x86_64_request_discard, struct blkif_request_discard,
  handle)
F(A64, struct pvio_blkif_x86_64_request_discard, struct blkif_request_discard,
  id)
F(A64, struct pvio_blkif_x86_64_request_discard, struct blkif_request_discard,
  sector_number)
F(A64, struct pvio_blkif_x86_64_request_discard, struct blkif_request_discard,
  nr_sectors)

S(A64, struct pvio_blkif_x86_64_request_indirect, struct blkif_request_indirect)
F(A64, struct pvio_blkif_x86_64_request_indirect, struct blkif_request_indirect,
  operation)
F(A64, struct pvio_blkif_x86_64_request_indirect, struct blkif_request_indirect,
  indirect_op)
F(A64, struct pvio_blkif_x86_64_request_indirect, struct blkif_request_indirect,
  nr_segments)
F(A64, struct pvio_blkif_x86_64_request_indirect, struct blkif_request_indirect,
  id)
F(A64, struct pvio_blkif_x86_64_request_indirect, struct blkif_request_indirect,
  sector_number)
F(A64, struct pvio_blkif_x86_64_request_indirect, struct blkif_request_indirect,
  handle)
F(A64, struct pvio_blkif_x86_64_request_indirect, struct blkif_request_indirect,
  indirect_grefs)

S(A64, struct pvio_blkif_x86_64_response, struct blkif_response)
F(A64, struct pvio_blkif_x86_64_response, struct blkif_response, id)
F(A64, struct pvio_blkif_x86_64_response, struct blkif_response, operation)
F(A64, struct pvio_blkif_x86_64_response, struct blkif_response, status)
FX(A64, struct pvio_blkif_x86_64_response, _pad1,
   offsetof(struct blkif_response, operation) + 1,
   offsetof(struct blkif_response, status) -
	   offsetof(struct blkif_response, operation) - 1)
FX(A64, struct pvio_blkif_x86_64_response, _pad2,
   offsetof(struct blkif_response, status) + 2,
   sizeof(struct blkif_response) - offsetof(struct blkif_response, status) - 2)

RING(A64, blkif_x86_64, blkif)

/* ---- netif.h -------------------------------------------------------- */
C(N, XEN_NETIF_NR_SLOTS_MIN)
C(N, _XEN_NETIF_CTRL_HASH_TYPE_IPV4)
C(N, XEN_NETIF_CTRL_HASH_TYPE_IPV4)
C(N, _XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP)
C(N, XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP)
C(N, _XEN_NETIF_CTRL_HASH_TYPE_IPV6)
C(N, XEN_NETIF_CTRL_HASH_TYPE_IPV6)
C(N, _XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP)
C(N, XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP)
C(N, XEN_NETIF_CTRL_HASH_ALGORITHM_NONE)
C(N, XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ)

S(N, struct pvio_netif_ctrl_request, struct xen_netif_ctrl_request)
F(N, struct pvio_netif_ctrl_request, struct xen_netif_ctrl_request, id)
F(N, struct pvio_netif_ctrl_request, struct xen_netif_ctrl_request, type)
F(N, struct pvio_netif_ctrl_request, struct xen_netif_ctrl_request, data)

C(N, XEN_NETIF_CTRL_TYPE_INVALID)
C(N, XEN_NETIF_CTRL_TYPE_GET_HASH_FLAGS)
C(N, XEN_NETIF_CTRL_TYPE_SET_HASH_FLAGS)
C(N, XEN_NETIF_CTRL_TYPE_SET_HASH_KEY)
C(N, XEN_NETIF_CTRL_TYPE_GET_HASH_MAPPING_SIZE)
C(N, XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING_SIZE)
C(N, XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING)
C(N, XEN_NETIF_CTRL_TYPE_SET_HASH_ALGORITHM)
C(N, XEN_NETIF_CTRL_TYPE_GET_GREF_MAPPING_SIZE)
C(N, XEN_NETIF_CTRL_TYPE_ADD_GREF_MAPPING)
C(N, XEN_NETIF_CTRL_TYPE_DEL_GREF_MAPPING)

S(N, struct pvio_netif_ctrl_response, struct xen_netif_ctrl_response)
F(N, struct pvio_netif_ctrl_response, struct xen_netif_ctrl_response, id)
F(N, struct pvio_netif_ctrl_response, struct xen_netif_ctrl_response, type)
F(N, struct pvio_netif_ctrl_response, struct xen_netif_ctrl_response, status)
F(N, struct pvio_netif_ctrl_response, struct xen_netif_ctrl_response, data)

C(N, XEN_NETIF_CTRL_STATUS_SUCCESS)
C(N, XEN_NETIF_CTRL_STATUS_NOT_SUPPORTED)
C(N, XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER)
C(N, XEN_NETIF_CTRL_STATUS_BUFFER_OVERFLOW)

S(N, struct pvio_netif_gref, struct xen_netif_gref)
F(N, struct pvio_netif_gref, struct xen_netif_gref, ref)
F(N, struct pvio_netif_gref, struct xen_netif_gref, flags)
F(N, struct pvio_netif_gref, struct xen_netif_gref, status)
C(N, _XEN_NETIF_CTRLF_GREF_readonly)
C(N, XEN_NETIF_CTRLF_GREF_readonly)

RING(N, netif_ctrl, xen_netif_ctrl)

C(N, _NETTXF_csum_blank)
C(N, NETTXF_csum_blank)
C(N, _NETTXF_data_validated)
C(N, NETTXF_data_validated)
C(N, _NETTXF_more_data)
C(N, NETTXF_more_data)
C(N, _NETTXF_extra_info)
C(N, NETTXF_extra_info)
C(N, XEN_NETIF_MAX_TX_SIZE)

S(N, struct pvio_netif_tx_request, struct netif_tx_request)
F(N, struct pvio_netif_tx_request, struct netif_tx_request, gref)
F(N, struct pvio_netif_tx_request, struct netif_tx_request, offset)
F(N, struct pvio_netif_tx_request, struct netif_tx_request, flags)
F(N, struct pvio_netif_tx_request, struct netif_tx_request, id)
F(N, struct pvio_netif_tx_request, struct netif_tx_request, size)

C(N, XEN_NETIF_EXTRA_TYPE_NONE)
C(N, XEN_NETIF_EXTRA_TYPE_GSO)
C(N, XEN_NETIF_EXTRA_TYPE_MCAST_ADD)
C(N, XEN_NETIF_EXTRA_TYPE_MCAST_DEL)
C(N, XEN_NETIF_EXTRA_TYPE_HASH)
C(N, XEN_NETIF_EXTRA_TYPE_MAX)
C(N, _XEN_NETIF_EXTRA_FLAG_MORE)
C(N, XEN_NETIF_EXTRA_FLAG_MORE)
C(N, XEN_NETIF_GSO_TYPE_NONE)
C(N, XEN_NETIF_GSO_TYPE_TCPV4)
C(N, XEN_NETIF_GSO_TYPE_TCPV6)

S(N, struct pvio_netif_extra_info, struct netif_extra_info)
F(N, struct pvio_netif_extra_info, struct netif_extra_info, type)
F(N, struct pvio_netif_extra_info, struct netif_extra_info, flags)
F(N, struct pvio_netif_extra_info, struct netif_extra_info, u)
F(N, struct pvio_netif_extra_info, struct netif_extra_info, u.gso)
F(N, struct pvio_netif_extra_info, struct netif_extra_info, u.gso.size)
F(N, struct pvio_netif_extra_info, struct netif_extra_info, u.gso.type)
F(N, struct pvio_netif_extra_info, struct netif_extra_info, u.gso.pad)
F(N, struct pvio_netif_extra_info, struct netif_extra_info, u.gso.features)
F(N, struct pvio_netif_extra_info, struct netif_extra_info, u.mcast)
F(N, struct pvio_netif_extra_info, struct netif_extra_info, u.mcast.addr)
F(N, struct pvio_netif_extra_info, struct netif_extra_info, u.hash)
F(N, struct pvio_netif_extra_info, struct netif_extra_info, u.hash.type)
F(N, struct pvio_netif_extra_info, struct netif_extra_info, u.hash.algorithm)
F(N, struct pvio_netif_extra_info, struct netif_extra_info, u.hash.value)
F(N, struct pvio_netif_extra_info, struct netif_extra_info, u.pad)

S(N, struct pvio_netif_tx_response, struct netif_tx_response)
F(N, struct pvio_netif_tx_response, struct netif_tx_response, id)
F(N, struct pvio_netif_tx_response, struct netif_tx_response, status)

S(N, struct pvio_netif_rx_request, struct netif_rx_request)
F(N, struct pvio_netif_rx_request, struct netif_rx_request, id)
F(N, struct pvio_netif_rx_request, struct netif_rx_request, pad)
F(N, struct pvio_netif_rx_request, struct netif_rx_request, gref)

C(N, _NETRXF_data_validated)
C(N, NETRXF_data_validated)
C(N, _NETRXF_csum_blank)
C(N, NETRXF_csum_blank)
C(N, _NETRXF_more_data)
C(N, NETRXF_more_data)
C(N, _NETRXF_extra_info)
C(N, NETRXF_extra_info)
C(N, _NETRXF_gso_prefix)
C(N, NETRXF_gso_prefix)

S(N, struct pvio_netif_rx_response, struct netif_rx_response)
F(N, struct pvio_netif_rx_response, struct netif_rx_response, id)
F(N, struct pvio_netif_rx_response, struct netif_rx_response, offset)
F(N, struct pvio_netif_rx_response, struct netif_rx_response, flags)
F(N, struct pvio_netif_rx_response, struct netif_rx_response, status)

RING(N, netif_tx, netif_tx)
RING(N, netif_rx, netif_rx)

C(N, NETIF_RSP_DROPPED)
C(N, NETIF_RSP_ERROR)
C(N, NETIF_RSP_OKAY)
C(N, NETIF_RSP_NULL)
/* Linux's names for the same values. */
CX(N, XEN_NETIF_RSP_DROPPED, NETIF_RSP_DROPPED)
CX(N, XEN_NETIF_RSP_ERROR, NETIF_RSP_ERROR)
CX(N, XEN_NETIF_RSP_OKAY, NETIF_RSP_OKAY)
CX(N, XEN_NETIF_RSP_NULL, NETIF_RSP_NULL)

/* ---- xs_wire.h ------------------------------------------------------ */
S(N, enum pvio_xsd_sockmsg_type, enum xsd_sockmsg_type)
C(N, XS_CONTROL)
C(N, XS_DIRECTORY)
C(N, XS_READ)
C(N, XS_GET_PERMS)
C(N, XS_WATCH)
C(N, XS_UNWATCH)
C(N, XS_TRANSACTION_START)
C(N, XS_TRANSACTION_END)
C(N, XS_INTRODUCE)
C(N, XS_RELEASE)
C(N, XS_GET_DOMAIN_PATH)
C(N, XS_WRITE)
C(N, XS_MKDIR)
C(N, XS_RM)
C(N, XS_SET_PERMS)
C(N, XS_WATCH_EVENT)
C(N, XS_ERROR)
C(N, XS_IS_DOMAIN_INTRODUCED)
C(N, XS_RESUME)
C(N, XS_SET_TARGET)
C(N, XS_RESET_WATCHES)
C(N, XS_DIRECTORY_PART)
C(N, XS_TYPE_COUNT)
C(N, XS_INVALID)
C(N, XS_DEBUG)
STR(XS_WRITE_NONE)
STR(XS_WRITE_CREATE)
STR(XS_WRITE_CREATE_EXCL)

S(N, struct pvio_xsd_sockmsg, struct xsd_sockmsg)
F(N, struct pvio_xsd_sockmsg, struct xsd_sockmsg, type)
F(N, struct pvio_xsd_sockmsg, struct xsd_sockmsg, req_id)
F(N, struct pvio_xsd_sockmsg, struct xsd_sockmsg, tx_id)
F(N, struct pvio_xsd_sockmsg, struct xsd_sockmsg, len)

S(N, enum pvio_xs_watch_type, enum xs_watch_type)
C(N, XS_WATCH_PATH)
C(N, XS_WATCH_TOKEN)

C(N, XENSTORE_RING_SIZE)
S(N, pvio_xenstore_ring_idx_t, XENSTORE_RING_IDX)
CX(N, MASK_XENSTORE_IDX(0x12345u), MASK_XENSTORE_IDX(0x12345u))

S(N, struct pvio_xenstore_domain_interface, struct xenstore_domain_interface)
F(N, struct pvio_xenstore_domain_interface, struct xenstore_domain_interface,
  req)
F(N, struct pvio_xenstore_domain_interface, struct xenstore_domain_interface,
  rsp)
F(N, struct pvio_xenstore_domain_interface, struct xenstore_domain_interface,
  req_cons)
F(N, struct pvio_xenstore_domain_interface, struct xenstore_domain_interface,
  req_prod)
F(N, struct pvio_xenstore_domain_interface, struct xenstore_domain_interface,
  rsp_cons)
F(N, struct pvio_xenstore_domain_interface, struct xenstore_domain_interface,
  rsp_prod)
F(N, struct pvio_xenstore_domain_interface, struct xenstore_domain_interface,
  server_features)
F(N, struct pvio_xenstore_domain_interface, struct xenstore_domain_interface,
  connection)
F(N, struct pvio_xenstore_domain_interface, struct xenstore_domain_interface,
  error)

C(N, XENSTORE_PAYLOAD_MAX)
C(N, XENSTORE_ABS_PATH_MAX)
C(N, XENSTORE_REL_PATH_MAX)
C(N, XENSTORE_SERVER_FEATURE_RECONNECTION)
C(N, XENSTORE_SERVER_FEATURE_ERROR)
C(N, XENSTORE_CONNECTED)
C(N, XENSTORE_RECONNECT)
C(N, XENSTORE_ERROR_NONE)
C(N, XENSTORE_ERROR_COMM)
C(N, XENSTORE_ERROR_RINGIDX)
C(N, XENSTORE_ERROR_PROTO)
/* Entries themselves: see compat_xsd_errors in test_compat.c. */
CX(N, PVIO_XSD_NR_ERRORS, sizeof(xsd_errors) / sizeof(xsd_errors[0]))
SX(N, struct pvio_xsd_error, sizeof(struct xsd_errors),
   _Alignof(struct xsd_errors))
F2(N, struct pvio_xsd_error, errnum, struct xsd_errors, errnum)
F2(N, struct pvio_xsd_error, name, struct xsd_errors, errstring)

/* ---- xenbus.h ------------------------------------------------------- */
S(N, enum pvio_xenbus_state, enum xenbus_state)
C(N, XenbusStateUnknown)
C(N, XenbusStateInitialising)
C(N, XenbusStateInitWait)
C(N, XenbusStateInitialised)
C(N, XenbusStateConnected)
C(N, XenbusStateClosing)
C(N, XenbusStateClosed)
C(N, XenbusStateReconfiguring)
C(N, XenbusStateReconfigured)

/* ---- protocols.h ---------------------------------------------------- */
STR(XEN_IO_PROTO_ABI_X86_32)
STR(XEN_IO_PROTO_ABI_X86_64)
STR(XEN_IO_PROTO_ABI_ARM)
STR(XEN_IO_PROTO_ABI_NATIVE)
