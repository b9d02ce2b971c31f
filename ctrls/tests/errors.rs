//! Every control type: a realistic value validates; wrong length, unknown
//! enum values, undefined flag bits, non-zero reserved fields and range
//! violations give the exact typed error; serde round-trips.

use core::mem::size_of;
use ctrls::{av1, h264, hevc, mpeg2, vp8, vp9};
use ctrls::{Control, CtrlError, Violation};
use zerocopy::{FromZeros, IntoBytes};

/// parse/view/parse_array reject lengths that are not the payload size.
fn length<C: Control + core::fmt::Debug>(name: &'static str) {
    let n = size_of::<C>();
    for got in [0, n - 1, n + 1] {
        let bytes = vec![0u8; got];
        let want = CtrlError::Length {
            control: name,
            expected: n,
            got,
        };
        assert_eq!(C::parse(&bytes).unwrap_err(), want, "{name} parse {got}");
        assert_eq!(C::view(&bytes).unwrap_err(), want, "{name} view {got}");
    }
    let bytes = vec![0u8; 2 * n + 1];
    assert_eq!(
        C::parse_array(&bytes).unwrap_err(),
        CtrlError::Length {
            control: name,
            expected: n,
            got: 2 * n + 1
        }
    );
}

/// The value is valid, survives bytes -> parse/view/parse_array, and serde.
fn valid<C>(v: &C)
where
    C: Control + core::fmt::Debug + PartialEq + serde::Serialize + serde::de::DeserializeOwned,
{
    assert_eq!(v.validate(), Ok(()), "{} should be valid", C::NAME);
    let bytes = v.to_bytes().to_vec();
    assert_eq!(&C::parse(&bytes).unwrap(), v);
    // An owned, aligned copy for the zero-copy view.
    let owned: Box<C> = Box::new(*v);
    assert_eq!(C::view(owned.as_bytes()).unwrap(), v);
    let two = [bytes.clone(), bytes].concat();
    assert_eq!(C::parse_array(&two).unwrap(), vec![*v, *v]);
    let json = serde_json::to_string(v).unwrap();
    let back: C = serde_json::from_str(&json).unwrap();
    assert_eq!(&back, v, "{} serde round trip via {json}", C::NAME);
}

/// `check()`/`parse()` fail with `want`.
fn rejects<C: Control + core::fmt::Debug>(v: &C, want: CtrlError) {
    assert_eq!(v.check().unwrap_err(), want);
    assert_eq!(C::parse(v.to_bytes()).unwrap_err(), want);
    assert_eq!(v.validate().unwrap_err(), want);
}

/// `validate()` fails with exactly these violations (check() passes).
fn invalid<C: Control + core::fmt::Debug>(v: &C, want: &[(&str, &str, &str)]) {
    assert_eq!(v.check(), Ok(()), "{}: check should pass", C::NAME);
    let want: Vec<Violation> = want
        .iter()
        .map(|&(field, value, allowed)| Violation {
            control: C::NAME,
            field: field.into(),
            value: value.into(),
            allowed: allowed.into(),
        })
        .collect();
    assert_eq!(v.validate().unwrap_err(), CtrlError::Invalid(want));
}

fn unknown_enum(control: &'static str, field: &'static str, value: u64) -> CtrlError {
    CtrlError::UnknownEnum {
        control,
        field,
        value,
    }
}

fn reserved_bits(control: &'static str, field: &'static str, bits: u64) -> CtrlError {
    CtrlError::ReservedBits {
        control,
        field,
        bits,
    }
}

fn reserved_nonzero(control: &'static str, field: &'static str) -> CtrlError {
    CtrlError::ReservedNonZero { control, field }
}

mod h264_tests {
    use super::*;
    use h264::*;

    pub fn sps() -> Sps {
        let mut s = Sps::new_zeroed();
        s.profile_idc = 100;
        s.constraint_set_flags = ConstraintSetFlags::SET1;
        s.level_idc = 40;
        s.chroma_format_idc = 1;
        s.log2_max_frame_num_minus4 = 4;
        s.pic_order_cnt_type = 1;
        s.max_num_ref_frames = 4;
        s.num_ref_frames_in_pic_order_cnt_cycle = 2;
        s.offset_for_ref_frame[0] = -3;
        s.offset_for_ref_frame[1] = 7;
        s.offset_for_non_ref_pic = -2;
        s.pic_width_in_mbs_minus1 = 119;
        s.pic_height_in_map_units_minus1 = 67;
        s.flags = SpsFlags::FRAME_MBS_ONLY | SpsFlags::DIRECT_8X8_INFERENCE;
        s
    }

    fn pps() -> Pps {
        Pps {
            pic_parameter_set_id: 1,
            num_ref_idx_l0_default_active_minus1: 2,
            weighted_bipred_idc: 1,
            pic_init_qp_minus26: -4,
            chroma_qp_index_offset: -2,
            second_chroma_qp_index_offset: 3,
            flags: PpsFlags::ENTROPY_CODING_MODE | PpsFlags::TRANSFORM_8X8_MODE,
            ..Default::default()
        }
    }

    fn slice() -> SliceParams {
        let mut s = SliceParams::new_zeroed();
        s.header_bit_size = 43;
        s.first_mb_in_slice = 120;
        s.slice_type = SLICE_TYPE_B;
        s.slice_qp_delta = -3;
        s.disable_deblocking_filter_idc = 2;
        s.slice_alpha_c0_offset_div2 = -6;
        s.num_ref_idx_l0_active_minus1 = 1;
        s.ref_pic_list0[0] = Reference {
            fields: Fields::FRAME,
            index: 3,
        };
        s.ref_pic_list0[1] = Reference {
            fields: Fields::TOP_FIELD,
            index: 15,
        };
        s.ref_pic_list1[0] = Reference {
            fields: Fields::BOTTOM_FIELD,
            index: 0,
        };
        s.flags = SliceFlags::DIRECT_SPATIAL_MV_PRED;
        s
    }

    fn decode() -> DecodeParams {
        let mut d = DecodeParams::new_zeroed();
        d.dpb[0] = DpbEntry {
            reference_ts: 33_000,
            pic_num: 4,
            frame_num: 4,
            fields: Fields::FRAME,
            top_field_order_cnt: 8,
            bottom_field_order_cnt: 8,
            flags: DpbEntryFlags::VALID | DpbEntryFlags::ACTIVE,
            ..Default::default()
        };
        d.nal_ref_idc = 2;
        d.frame_num = 5;
        d.top_field_order_cnt = 10;
        d.bottom_field_order_cnt = 10;
        d.pic_order_cnt_lsb = 10;
        d.dec_ref_pic_marking_bit_size = 2;
        d.pic_order_cnt_bit_size = 6;
        d.flags = DecodeFlags::PFRAME;
        d
    }

    fn weights() -> PredWeights {
        let mut w = PredWeights {
            luma_log2_weight_denom: 5,
            chroma_log2_weight_denom: 3,
            ..Default::default()
        };
        w.weight_factors[0].luma_weight[0] = 32;
        w.weight_factors[0].luma_offset[1] = -128;
        w.weight_factors[1].chroma_weight[2][1] = 127;
        w.weight_factors[1].chroma_offset[31][0] = -7;
        w
    }

    #[test]
    fn lengths() {
        length::<Sps>("H264_SPS");
        length::<Pps>("H264_PPS");
        length::<ScalingMatrix>("H264_SCALING_MATRIX");
        length::<PredWeights>("H264_PRED_WEIGHTS");
        length::<SliceParams>("H264_SLICE_PARAMS");
        length::<DecodeParams>("H264_DECODE_PARAMS");
        length::<DecodeModeCtrl>("H264_DECODE_MODE");
        length::<StartCodeCtrl>("H264_START_CODE");
    }

    #[test]
    fn sps_errors() {
        valid(&sps());
        let mut s = sps();
        s.flags = SpsFlags::from_bits_retain(0x80 | SpsFlags::FRAME_MBS_ONLY.bits());
        rejects(&s, reserved_bits("H264_SPS", "flags", 0x80));
        let mut s = sps();
        s.constraint_set_flags = ConstraintSetFlags::from_bits_retain(0xc0);
        rejects(&s, reserved_bits("H264_SPS", "constraint_set_flags", 0xc0));
        let mut s = sps();
        s.log2_max_frame_num_minus4 = 13;
        s.profile_idc = 99;
        // Hard rules first, then the soft ones (profile_idc is soft).
        invalid(
            &s,
            &[
                ("log2_max_frame_num_minus4", "13", "<= 12"),
                ("profile_idc", "99", "one of 44, 66, 77, 83, 86, 88, 100, 110, 118, 122, 128, 134, 135, 138, 139, 244"),
            ],
        );
        // 4:4:4 needs profile_idc >= 244 (kernel rule).
        let mut s = sps();
        s.chroma_format_idc = 3;
        invalid(
            &s,
            &[
                ("chroma_format_idc", "3", "<= 1 for profile_idc < 122"),
                ("chroma_format_idc", "3", "<= 2 for profile_idc < 244"),
            ],
        );
        // The kernel resets chroma_format_idc for profiles without it: valid.
        let mut s = sps();
        s.profile_idc = 77;
        s.chroma_format_idc = 3;
        assert_eq!(s.validate(), Ok(()));
        // ... but clears nothing when pic_order_cnt_type is 0 and lsb is bad.
        let mut s = sps();
        s.pic_order_cnt_type = 0;
        s.log2_max_pic_order_cnt_lsb_minus4 = 13;
        invalid(&s, &[("log2_max_pic_order_cnt_lsb_minus4", "13", "<= 12")]);
        // With pic_order_cnt_type 1 the kernel clears it: valid.
        s.pic_order_cnt_type = 1;
        assert_eq!(s.validate(), Ok(()));
        let mut s = sps();
        s.pic_order_cnt_type = 3;
        invalid(&s, &[("pic_order_cnt_type", "3", "<= 2")]);
    }

    fn soft(control: &'static str, field: &str, value: &str, allowed: &str) -> Violation {
        Violation {
            control,
            field: field.into(),
            value: value.into(),
            allowed: allowed.into(),
        }
    }

    /// `validate_lenient()`: kernel-rejected values fail as `validate()` does;
    /// what only the spec rules out (or the kernel does not look at) comes back
    /// as soft violations; `validate()` still fails on both.
    #[test]
    fn hard_and_soft_rules() {
        assert_eq!(sps().validate_lenient(), Ok(vec![]));
        // What libva-v4l2-request sends: level_idc 0, profile_idc 0.
        let mut s = sps();
        s.level_idc = 0;
        s.profile_idc = 0;
        s.constraint_set_flags = ConstraintSetFlags::from_bits_retain(0xc1);
        let want = vec![
            soft("H264_SPS", "constraint_set_flags", "0xc0", "no undefined bits"),
            soft(
                "H264_SPS",
                "profile_idc",
                "0",
                "one of 44, 66, 77, 83, 86, 88, 100, 110, 118, 122, 128, 134, 135, 138, 139, 244",
            ),
            soft(
                "H264_SPS",
                "level_idc",
                "0",
                "one of 9, 10, 11, 12, 13, 20, 21, 22, 30, 31, 32, 40, 41, 42, 50, 51, 52, 60, 61, 62",
            ),
        ];
        assert_eq!(s.validate_lenient(), Ok(want));
        assert_eq!(
            s.validate(),
            Err(reserved_bits("H264_SPS", "constraint_set_flags", 0xc0))
        );
        // A kernel rule still fails, with only the hard violations.
        s.bit_depth_luma_minus8 = 7;
        s.profile_idc = 110;
        assert_eq!(
            s.validate_lenient(),
            Err(CtrlError::Invalid(vec![soft(
                "H264_SPS",
                "bit_depth_luma_minus8",
                "7",
                "<= 6"
            )]))
        );
        // Reserved fields the kernel clears, undefined bits it ignores: soft.
        let mut d = decode();
        d.reserved = 9;
        d.flags = DecodeFlags::from_bits_retain(0x20);
        assert_eq!(
            d.validate_lenient(),
            Ok(vec![soft(
                "H264_DECODE_PARAMS",
                "reserved",
                "non-zero",
                "0 (reserved)"
            )])
        );
        d.nal_ref_idc = 4;
        assert_eq!(
            d.validate_lenient(),
            Err(CtrlError::Invalid(vec![soft(
                "H264_DECODE_PARAMS",
                "nal_ref_idc",
                "4",
                "<= 3"
            )]))
        );
        let mut p = pps();
        p.flags = PpsFlags::from_bits_retain(0x100);
        assert_eq!(
            p.validate_lenient(),
            Ok(vec![soft(
                "H264_PPS",
                "flags",
                "0x100",
                "no undefined bits"
            )])
        );
        let mut w = weights();
        w.weight_factors[0].luma_weight[2] = 200;
        assert_eq!(
            w.validate_lenient(),
            Ok(vec![soft(
                "H264_PRED_WEIGHTS",
                "weight_factors[0].luma_weight[2]",
                "200",
                "-128..=127"
            )])
        );
    }

    #[test]
    fn pps_errors() {
        valid(&pps());
        let mut p = pps();
        p.flags = PpsFlags::from_bits_retain(0x100);
        rejects(&p, reserved_bits("H264_PPS", "flags", 0x100));
        let mut p = pps();
        p.num_ref_idx_l1_default_active_minus1 = 32;
        p.pic_init_qp_minus26 = 26;
        p.weighted_bipred_idc = 3;
        invalid(
            &p,
            &[
                ("num_ref_idx_l1_default_active_minus1", "32", "<= 31"),
                ("weighted_bipred_idc", "3", "<= 2"),
                ("pic_init_qp_minus26", "26", "-62..=25"),
            ],
        );
    }

    #[test]
    fn scaling_matrix_errors() {
        let mut m = ScalingMatrix::FLAT;
        m.scaling_list_8x8[5][63] = 255;
        m.scaling_list_4x4[0][0] = 6;
        valid(&m);
        valid(&ScalingMatrix::new_zeroed());
        m.scaling_list_8x8[2][10] = 0;
        invalid(&m, &[("scaling_list_8x8[2][10]", "0", "1..=255")]);
    }

    #[test]
    fn pred_weights_errors() {
        valid(&weights());
        let mut w = weights();
        w.chroma_log2_weight_denom = 8;
        w.weight_factors[1].luma_offset[4] = 128;
        invalid(
            &w,
            &[
                ("chroma_log2_weight_denom", "8", "<= 7"),
                ("weight_factors[1].luma_offset[4]", "128", "-128..=127"),
            ],
        );
    }

    #[test]
    fn slice_errors() {
        valid(&slice());
        let mut s = slice();
        s.slice_type = 5;
        rejects(&s, unknown_enum("H264_SLICE_PARAMS", "slice_type", 5));
        assert_eq!(
            s.slice_type(),
            Err(unknown_enum("H264_SLICE_PARAMS", "slice_type", 5))
        );
        assert_eq!(slice().slice_type(), Ok(SliceType::B));
        let mut s = slice();
        s.reserved = 1;
        rejects(&s, reserved_nonzero("H264_SLICE_PARAMS", "reserved"));
        let mut s = slice();
        s.flags = SliceFlags::from_bits_retain(0x4);
        rejects(&s, reserved_bits("H264_SLICE_PARAMS", "flags", 0x4));
        let mut s = slice();
        s.ref_pic_list1[31].fields = Fields::from_bits_retain(0x4);
        rejects(
            &s,
            reserved_bits("H264_SLICE_PARAMS", "ref_pic_list.fields", 0x4),
        );
        let mut s = slice();
        s.cabac_init_idc = 3;
        s.ref_pic_list0[1].index = 16;
        s.slice_beta_offset_div2 = 7;
        invalid(
            &s,
            &[
                ("cabac_init_idc", "3", "<= 2"),
                ("slice_beta_offset_div2", "7", "-6..=6"),
                ("ref_pic_list0[1].index", "16", "<= 15"),
            ],
        );
        // An I slice's list sizes are cleared by the kernel: not checked.
        let mut s = slice();
        s.slice_type = SLICE_TYPE_I;
        s.num_ref_idx_l0_active_minus1 = 40;
        s.num_ref_idx_l1_active_minus1 = 40;
        assert_eq!(s.validate(), Ok(()));
        s.slice_type = SLICE_TYPE_P;
        invalid(&s, &[("num_ref_idx_l0_active_minus1", "40", "<= 31")]);
    }

    #[test]
    fn decode_params_errors() {
        valid(&decode());
        let mut d = decode();
        d.dpb[3].reserved[4] = 1;
        rejects(&d, reserved_nonzero("H264_DECODE_PARAMS", "dpb.reserved"));
        let mut d = decode();
        d.reserved = 9;
        rejects(&d, reserved_nonzero("H264_DECODE_PARAMS", "reserved"));
        let mut d = decode();
        d.dpb[0].flags = DpbEntryFlags::from_bits_retain(0x10);
        rejects(&d, reserved_bits("H264_DECODE_PARAMS", "dpb.flags", 0x10));
        let mut d = decode();
        d.flags = DecodeFlags::from_bits_retain(0x20 | 0x1);
        rejects(&d, reserved_bits("H264_DECODE_PARAMS", "flags", 0x20));
        let mut d = decode();
        d.nal_ref_idc = 4;
        invalid(&d, &[("nal_ref_idc", "4", "<= 3")]);
    }

    #[test]
    fn menus() {
        valid(&DecodeModeCtrl::new(DecodeMode::FrameBased));
        valid(&StartCodeCtrl::new(StartCode::AnnexB));
        rejects(
            &DecodeModeCtrl { value: 2 },
            unknown_enum("H264_DECODE_MODE", "value", 2),
        );
        rejects(
            &StartCodeCtrl { value: 7 },
            unknown_enum("H264_START_CODE", "value", 7),
        );
        assert_eq!(
            serde_json::to_string(&StartCodeCtrl::new(StartCode::AnnexB)).unwrap(),
            "\"ANNEX_B\""
        );
    }

    #[test]
    fn serde_is_readable() {
        let j = serde_json::to_value(slice()).unwrap();
        assert_eq!(j["slice_type"], "B");
        assert_eq!(j["flags"], "DIRECT_SPATIAL_MV_PRED");
        assert_eq!(j["ref_pic_list0"][0]["fields"], "FRAME");
        assert_eq!(j["ref_pic_list0"][1]["fields"], "TOP_FIELD");
        assert!(j.get("reserved").is_none());
        let j = serde_json::to_value(sps()).unwrap();
        assert_eq!(j["flags"], "FRAME_MBS_ONLY | DIRECT_8X8_INFERENCE");
        assert_eq!(
            j["offset_for_ref_frame"][0],
            "-3 7 0 0 0 0 0 0 0 0 0 0 0 0 0 0"
        );
        // Unknown values survive a round trip as numbers / hex bits.
        let mut s = slice();
        s.slice_type = 9;
        s.flags = SliceFlags::from_bits_retain(0x81);
        let j = serde_json::to_value(s).unwrap();
        assert_eq!(j["slice_type"], 9);
        assert_eq!(j["flags"], "DIRECT_SPATIAL_MV_PRED | 0x80");
        let back: SliceParams = serde_json::from_value(j).unwrap();
        assert_eq!(back, s);
    }
}

mod hevc_tests {
    use super::*;
    use hevc::*;

    fn sps() -> Sps {
        Sps {
            pic_width_in_luma_samples: 1920,
            pic_height_in_luma_samples: 1080,
            log2_max_pic_order_cnt_lsb_minus4: 4,
            sps_max_dec_pic_buffering_minus1: 4,
            sps_max_num_reorder_pics: 2,
            log2_min_luma_coding_block_size_minus3: 0,
            log2_diff_max_min_luma_coding_block_size: 3,
            log2_min_luma_transform_block_size_minus2: 0,
            log2_diff_max_min_luma_transform_block_size: 3,
            max_transform_hierarchy_depth_inter: 1,
            max_transform_hierarchy_depth_intra: 1,
            num_short_term_ref_pic_sets: 3,
            chroma_format_idc: 1,
            flags: SpsFlags::AMP_ENABLED
                | SpsFlags::SAMPLE_ADAPTIVE_OFFSET
                | SpsFlags::SPS_TEMPORAL_MVP_ENABLED,
            ..Default::default()
        }
    }

    fn pps() -> Pps {
        let mut p = Pps {
            num_ref_idx_l0_default_active_minus1: 2,
            init_qp_minus26: -3,
            diff_cu_qp_delta_depth: 1,
            pps_cb_qp_offset: -2,
            num_tile_columns_minus1: 1,
            num_tile_rows_minus1: 1,
            pps_beta_offset_div2: 2,
            flags: PpsFlags::CU_QP_DELTA_ENABLED
                | PpsFlags::TILES_ENABLED
                | PpsFlags::UNIFORM_SPACING,
            ..Default::default()
        };
        p.column_width_minus1[0] = 14;
        p.row_height_minus1[0] = 8;
        p
    }

    fn slice() -> SliceParams {
        let mut s = SliceParams::new_zeroed();
        s.bit_size = 8000;
        s.data_byte_offset = 12;
        s.nal_unit_type = 1;
        s.nuh_temporal_id_plus1 = 1;
        s.slice_type = SLICE_TYPE_B;
        s.slice_pic_order_cnt = 6;
        s.num_ref_idx_l0_active_minus1 = 1;
        s.collocated_ref_idx = 1;
        s.ref_idx_l0[1] = 2;
        s.ref_idx_l1[0] = 3;
        s.slice_qp_delta = 2;
        s.pic_struct = PicStruct::Frame as u8;
        s.pred_weight_table.luma_log2_weight_denom = 6;
        s.pred_weight_table.delta_chroma_log2_weight_denom = -1;
        s.pred_weight_table.delta_chroma_weight_l0[3][1] = -5;
        s.flags = SliceFlags::SLICE_TEMPORAL_MVP_ENABLED | SliceFlags::COLLOCATED_FROM_L0;
        s
    }

    fn decode() -> DecodeParams {
        let mut d = DecodeParams::new_zeroed();
        d.pic_order_cnt_val = 6;
        d.num_active_dpb_entries = 3;
        d.num_poc_st_curr_before = 2;
        d.num_poc_st_curr_after = 1;
        d.poc_st_curr_before[..2].copy_from_slice(&[0, 1]);
        d.poc_st_curr_after[0] = 2;
        d.dpb[2] = DpbEntry {
            timestamp: 99,
            flags: DpbEntryFlags::LONG_TERM_REFERENCE,
            field_pic: PicStruct::TopField as u8,
            reserved: 0,
            pic_order_cnt_val: 8,
        };
        d.flags = DecodeFlags::empty();
        d
    }

    #[test]
    fn lengths() {
        length::<Sps>("HEVC_SPS");
        length::<Pps>("HEVC_PPS");
        length::<SliceParams>("HEVC_SLICE_PARAMS");
        length::<ScalingMatrix>("HEVC_SCALING_MATRIX");
        length::<DecodeParams>("HEVC_DECODE_PARAMS");
        length::<DecodeModeCtrl>("HEVC_DECODE_MODE");
        length::<StartCodeCtrl>("HEVC_START_CODE");
        length::<EntryPointOffset>("HEVC_ENTRY_POINT_OFFSETS");
        length::<ExtSpsStRps>("HEVC_EXT_SPS_ST_RPS");
        length::<ExtSpsLtRps>("HEVC_EXT_SPS_LT_RPS");
    }

    #[test]
    fn ext_sps_rps_tables() {
        let mut st = ExtSpsStRps {
            num_negative_pics: 2,
            num_positive_pics: 1,
            used_by_curr_pic: 0b101,
            ..Default::default()
        };
        st.delta_poc_s0_minus1[..2].copy_from_slice(&[0, 1]);
        valid(&st);
        st.num_positive_pics = 15;
        st.delta_poc_s1_minus1[3] = 0x8000;
        invalid(
            &st,
            &[
                ("num_negative_pics + num_positive_pics", "17", "<= 16"),
                ("delta_poc_s1_minus1[3]", "32768", "<= 32767"),
            ],
        );
        // Inter RPS prediction: the entry lists are not the coded syntax.
        let inter = ExtSpsStRps {
            flags: ExtSpsStRpsFlags::INTER_REF_PIC_SET_PRED,
            delta_rps_sign: 1,
            abs_delta_rps_minus1: 3,
            num_negative_pics: 40,
            ..Default::default()
        };
        valid(&inter);
        invalid(
            &ExtSpsStRps {
                delta_rps_sign: 2,
                ..inter
            },
            &[("delta_rps_sign", "2", "<= 1")],
        );
        rejects(
            &ExtSpsStRps {
                flags: ExtSpsStRpsFlags::from_bits_retain(0x2),
                ..inter
            },
            CtrlError::ReservedBits {
                control: "HEVC_EXT_SPS_ST_RPS",
                field: "flags",
                bits: 0x2,
            },
        );
        valid(&ExtSpsLtRps {
            lt_ref_pic_poc_lsb_sps: 9,
            flags: ExtSpsLtRpsFlags::USED_LT,
        });
    }

    #[test]
    fn sps_errors() {
        valid(&sps());
        let mut s = sps();
        s.flags = SpsFlags::from_bits_retain(1 << 9);
        rejects(&s, reserved_bits("HEVC_SPS", "flags", 1 << 9));
        let mut s = sps();
        s.reserved[5] = 1;
        rejects(&s, reserved_nonzero("HEVC_SPS", "reserved"));
        let mut s = sps();
        s.bit_depth_luma_minus8 = 9;
        s.pic_width_in_luma_samples = 1916;
        invalid(
            &s,
            &[
                ("bit_depth_luma_minus8", "9", "<= 8"),
                (
                    "pic_width_in_luma_samples",
                    "1916",
                    "non-zero multiple of MinCbSizeY = 8",
                ),
            ],
        );
        // PCM fields are cleared by the kernel unless PCM is enabled.
        let mut s = sps();
        s.log2_min_pcm_luma_coding_block_size_minus3 = 9;
        assert_eq!(s.validate(), Ok(()));
        s.flags |= SpsFlags::PCM_ENABLED;
        invalid(
            &s,
            &[
                (
                    "log2_min_pcm_luma_coding_block_size_minus3",
                    "9",
                    "Log2MinIpcmCbSizeY in min(MinCbLog2SizeY, 5)..=min(CtbLog2SizeY, 5)",
                ),
                (
                    "log2_diff_max_min_pcm_luma_coding_block_size",
                    "0",
                    "Log2MaxIpcmCbSizeY <= min(CtbLog2SizeY, 5)",
                ),
            ],
        );
    }

    /// Found by the fuzzer: PCM bit depth bound overflowed u8.
    #[test]
    fn sps_extreme_bit_depth_does_not_panic() {
        let mut s = sps();
        s.flags |= SpsFlags::PCM_ENABLED;
        s.bit_depth_luma_minus8 = 255;
        s.log2_min_pcm_luma_coding_block_size_minus3 = 0;
        invalid(&s, &[("bit_depth_luma_minus8", "255", "<= 8")]);
    }

    #[test]
    fn pps_errors() {
        valid(&pps());
        let mut p = pps();
        p.flags = PpsFlags::from_bits_retain(1 << 21);
        rejects(&p, reserved_bits("HEVC_PPS", "flags", 1 << 21));
        let mut p = pps();
        p.reserved = 1;
        rejects(&p, reserved_nonzero("HEVC_PPS", "reserved"));
        let mut p = pps();
        p.num_tile_columns_minus1 = 20;
        invalid(&p, &[("num_tile_columns_minus1", "20", "<= 19")]);
        // Without tiles the kernel clears the tile fields: valid.
        p.flags.remove(PpsFlags::TILES_ENABLED);
        assert_eq!(p.validate(), Ok(()));
    }

    #[test]
    fn slice_errors() {
        valid(&slice());
        let mut s = slice();
        s.slice_type = 3;
        rejects(&s, unknown_enum("HEVC_SLICE_PARAMS", "slice_type", 3));
        let mut s = slice();
        s.pic_struct = 13;
        rejects(&s, unknown_enum("HEVC_SLICE_PARAMS", "pic_struct", 13));
        let mut s = slice();
        s.reserved1[1] = 1;
        rejects(&s, reserved_nonzero("HEVC_SLICE_PARAMS", "reserved1"));
        let mut s = slice();
        s.flags = SliceFlags::from_bits_retain(1 << 10);
        rejects(&s, reserved_bits("HEVC_SLICE_PARAMS", "flags", 1 << 10));
        let mut s = slice();
        s.num_ref_idx_l0_active_minus1 = 16;
        invalid(&s, &[("num_ref_idx_l0_active_minus1", "16", "<= 14")]);
        let mut s = slice();
        s.ref_idx_l0[0] = 16;
        s.collocated_ref_idx = 2;
        invalid(
            &s,
            &[
                ("ref_idx_l0[0]", "16", "<= 15"),
                (
                    "collocated_ref_idx",
                    "2",
                    "< 2 (active references of the collocated list)",
                ),
            ],
        );
    }

    #[test]
    fn decode_params_errors() {
        valid(&decode());
        let mut d = decode();
        d.dpb[0].field_pic = 13;
        rejects(&d, unknown_enum("HEVC_DECODE_PARAMS", "dpb.field_pic", 13));
        let mut d = decode();
        d.dpb[1].flags = DpbEntryFlags::from_bits_retain(2);
        rejects(&d, reserved_bits("HEVC_DECODE_PARAMS", "dpb.flags", 2));
        let mut d = decode();
        d.reserved[0] = 1;
        rejects(&d, reserved_nonzero("HEVC_DECODE_PARAMS", "reserved"));
        let mut d = decode();
        d.num_active_dpb_entries = 17;
        invalid(&d, &[("num_active_dpb_entries", "17", "<= 16")]);
        let mut d = decode();
        d.poc_st_curr_after[0] = 3;
        invalid(
            &d,
            &[("poc_st_curr_after[0]", "3", "< num_active_dpb_entries = 3")],
        );
    }

    #[test]
    fn scaling_and_menus() {
        let mut m = ScalingMatrix::FLAT;
        m.scaling_list_dc_coef_32x32[1] = 40;
        valid(&m);
        m.scaling_list_dc_coef_16x16[2] = 0;
        invalid(&m, &[("scaling_list_dc_coef_16x16[2]", "0", "1..=255")]);
        valid(&EntryPointOffset(1234));
        assert_eq!(
            EntryPointOffset::parse_array(&[1, 0, 0, 0, 2, 0, 0, 0]).unwrap(),
            vec![EntryPointOffset(1), EntryPointOffset(2)]
        );
        valid(&DecodeModeCtrl::new(DecodeMode::SliceBased));
        valid(&StartCodeCtrl::new(StartCode::None));
        rejects(
            &DecodeModeCtrl { value: -1 },
            unknown_enum("HEVC_DECODE_MODE", "value", u64::MAX),
        );
    }
}

mod vp8_tests {
    use super::*;
    use vp8::*;

    fn frame() -> Frame {
        let mut f = Frame::default();
        f.segment.quant_update = [-5, 3, 0, 127];
        f.segment.segment_probs = [128, 64, 255];
        f.segment.flags = SegmentFlags::ENABLED | SegmentFlags::UPDATE_MAP;
        f.lf.level = 30;
        f.lf.sharpness_level = 3;
        f.lf.ref_frm_delta = [2, 0, -2, -2];
        f.lf.flags = LoopFilterFlags::ADJ_ENABLE;
        f.quant.y_ac_qi = 60;
        f.quant.uv_dc_delta = -15;
        f.entropy.coeff_probs[3][7][2][10] = 200;
        f.entropy.mv_probs[1][18] = 3;
        f.coder_state = EntropyCoderState {
            range: 254,
            value: 17,
            bit_count: 5,
            padding: 0,
        };
        f.width = 352;
        f.height = 288;
        f.num_dct_parts = 4;
        f.first_part_size = 1000;
        f.dct_part_sizes[..4].copy_from_slice(&[10, 20, 30, 40]);
        f.flags = FrameFlags::KEY_FRAME | FrameFlags::SHOW_FRAME;
        f
    }

    #[test]
    fn errors() {
        length::<Frame>("VP8_FRAME");
        valid(&frame());
        let mut f = frame();
        f.flags = FrameFlags::from_bits_retain(1 << 40);
        rejects(&f, reserved_bits("VP8_FRAME", "flags", 1 << 40));
        let mut f = frame();
        f.lf.flags = LoopFilterFlags::from_bits_retain(8);
        rejects(&f, reserved_bits("VP8_FRAME", "lf.flags", 8));
        let mut f = frame();
        f.entropy.padding[2] = 1;
        rejects(&f, reserved_nonzero("VP8_FRAME", "entropy.padding"));
        let mut f = frame();
        f.num_dct_parts = 3;
        f.quant.y_ac_qi = 128;
        invalid(
            &f,
            &[
                ("num_dct_parts", "3", "one of 1, 2, 4, 8"),
                ("quant.y_ac_qi", "128", "<= 127"),
            ],
        );
    }
}

mod vp9_tests {
    use super::*;
    use vp9::*;

    fn frame() -> Frame {
        let mut f = Frame::default();
        f.lf.ref_deltas = [1, 0, -1, -1];
        f.lf.level = 36;
        f.lf.sharpness = 2;
        f.lf.flags = LoopFilterFlags::DELTA_ENABLED;
        f.quant.base_q_idx = 100;
        f.quant.delta_q_uv_ac = -15;
        f.seg.feature_data[2] = [-255, 63, 3, 0];
        f.seg.feature_enabled[2] = SegmentFeatures::ALT_Q | SegmentFeatures::SKIP;
        f.seg.tree_probs = [255; 7];
        f.seg.flags = SegmentationFlags::ENABLED;
        f.flags |= FrameFlags::SHOW_FRAME | FrameFlags::REFRESH_FRAME_CTX;
        f.compressed_header_size = 30;
        f.uncompressed_header_size = 20;
        f.frame_width_minus_1 = 351;
        f.frame_height_minus_1 = 287;
        f.last_frame_ts = 1000;
        f.ref_frame_sign_bias = SignBias::ALT;
        f.frame_context_idx = 3;
        f.interpolation_filter = InterpFilter::Switchable as u8;
        f.reference_mode = ReferenceMode::Select as u8;
        f
    }

    fn hdr() -> CompressedHdr {
        let mut h = CompressedHdr::new_zeroed();
        h.tx_mode = TxMode::Select as u8;
        h.coef[3][1][1][5][5][2] = 77;
        h.uv_mode[9][8] = 3;
        h.mv.class0_fr[1][1][2] = 9;
        h
    }

    #[test]
    fn errors() {
        length::<Frame>("VP9_FRAME");
        length::<CompressedHdr>("VP9_COMPRESSED_HDR");
        valid(&frame());
        valid(&hdr());
        let mut h = hdr();
        h.tx_mode = 5;
        rejects(&h, unknown_enum("VP9_COMPRESSED_HDR", "tx_mode", 5));
        let mut f = frame();
        f.interpolation_filter = 5;
        rejects(&f, unknown_enum("VP9_FRAME", "interpolation_filter", 5));
        let mut f = frame();
        f.reset_frame_context = 3;
        rejects(&f, unknown_enum("VP9_FRAME", "reset_frame_context", 3));
        let mut f = frame();
        f.seg.feature_enabled[7] = SegmentFeatures::from_bits_retain(0x10);
        rejects(&f, reserved_bits("VP9_FRAME", "seg.feature_enabled", 0x10));
        let mut f = frame();
        f.flags = FrameFlags::from_bits_retain(0x400 | 0x180);
        rejects(&f, reserved_bits("VP9_FRAME", "flags", 0x400));
        let mut f = frame();
        f.quant.reserved[3] = 1;
        rejects(&f, reserved_nonzero("VP9_FRAME", "quant.reserved"));
        let mut f = frame();
        f.profile = 2;
        f.seg.feature_data[0][3] = 1;
        invalid(
            &f,
            &[
                ("seg.feature_data[0][3]", "1", "0..=0"),
                ("bit_depth", "8", "one of 10, 12"),
            ],
        );
        let mut f = frame();
        f.flags |= FrameFlags::ERROR_RESILIENT;
        f.frame_context_idx = 4;
        invalid(
            &f,
            &[
                (
                    "flags",
                    "FrameFlags(SHOW_FRAME | ERROR_RESILIENT | REFRESH_FRAME_CTX | X_SUBSAMPLING | Y_SUBSAMPLING)",
                    "not both ERROR_RESILIENT and REFRESH_FRAME_CTX",
                ),
                ("frame_context_idx", "4", "<= 3"),
            ],
        );
    }

    /// Reserved fields the kernel clears and tile_rows_log2 > 2 are soft;
    /// undefined frame flag bits (validate_vp9_frame) stay hard.
    #[test]
    fn hard_and_soft_rules() {
        let mut f = frame();
        f.quant.reserved[3] = 1;
        f.tile_rows_log2 = 3;
        let soft = |field: &str, value: &str, allowed: &str| Violation {
            control: "VP9_FRAME",
            field: field.into(),
            value: value.into(),
            allowed: allowed.into(),
        };
        assert_eq!(
            f.validate_lenient(),
            Ok(vec![
                soft("quant.reserved", "non-zero", "0 (reserved)"),
                soft("tile_rows_log2", "3", "<= 2"),
            ])
        );
        f.flags = FrameFlags::from_bits_retain(0x400);
        assert_eq!(
            f.validate_lenient(),
            Err(reserved_bits("VP9_FRAME", "flags", 0x400))
        );
    }
}

mod av1_tests {
    use super::*;
    use av1::*;

    fn seq() -> Sequence {
        Sequence {
            flags: SequenceFlags::ENABLE_ORDER_HINT
                | SequenceFlags::ENABLE_CDEF
                | SequenceFlags::SUBSAMPLING_X
                | SequenceFlags::SUBSAMPLING_Y,
            seq_profile: 0,
            order_hint_bits: 7,
            bit_depth: 10,
            reserved: 0,
            max_frame_width_minus_1: 1919,
            max_frame_height_minus_1: 1079,
        }
    }

    fn frame() -> Frame {
        let mut f = Frame::default();
        let t = &mut f.tile_info;
        t.flags = TileInfoFlags::UNIFORM_TILE_SPACING;
        t.tile_cols = 2;
        t.tile_rows = 1;
        t.mi_col_starts[..3].copy_from_slice(&[0, 256, 480]);
        t.mi_row_starts[..2].copy_from_slice(&[0, 272]);
        t.width_in_sbs_minus_1[..2].copy_from_slice(&[15, 13]);
        t.height_in_sbs_minus_1[0] = 16;
        t.context_update_tile_id = 1;
        t.tile_size_bytes = 4;
        f.quantization.base_q_idx = 120;
        f.quantization.delta_q_u_dc = -64;
        f.quantization.flags = QuantizationFlags::DELTA_Q_PRESENT;
        f.superres_denom = 8;
        f.segmentation.feature_data[1] = [-255, 63, -63, 0, 0, 7, 0, 0];
        f.loop_filter.level = [10, 12, 4, 4];
        f.loop_filter.ref_deltas = [1, 0, 0, 0, -1, 0, -1, -1];
        f.cdef.bits = 1;
        f.cdef.y_pri_strength[..2].copy_from_slice(&[15, 3]);
        f.cdef.uv_sec_strength[1] = 4;
        f.loop_restoration.flags = LoopRestorationFlags::USES_LR;
        f.loop_restoration.frame_restoration_type[0] = FrameRestorationType::Wiener as u32;
        f.loop_restoration.loop_restoration_size = [64, 64, 64];
        f.global_motion.r#type[1] = WarpModel::RotZoom as u32;
        f.global_motion.params[1] = [0, 0, 65536, 12, -12, 65536];
        f.global_motion.flags[1] = GlobalMotionFlags::IS_GLOBAL | GlobalMotionFlags::IS_ROT_ZOOM;
        f.flags = FrameFlags::SHOW_FRAME | FrameFlags::USE_REF_FRAME_MVS;
        f.frame_type = FrameType::Inter as u32;
        f.order_hint = 5;
        f.upscaled_width = 1920;
        f.interpolation_filter = InterpolationFilter::Switchable as u32;
        f.tx_mode = TxMode::Select as u32;
        f.frame_width_minus_1 = 1919;
        f.frame_height_minus_1 = 1079;
        f.order_hints = [0, 4, 3, 2, 0, 8, 6, 8];
        f.reference_frame_ts[1] = 4000;
        f.ref_frame_idx = [0, 1, 2, 3, 4, 5, 6];
        f.refresh_frame_flags = 0x01;
        f.primary_ref_frame = 0;
        f
    }

    fn grain() -> FilmGrain {
        let mut g = FilmGrain::new_zeroed();
        g.flags = FilmGrainFlags::APPLY_GRAIN | FilmGrainFlags::UPDATE_GRAIN;
        g.grain_seed = 4321;
        g.num_y_points = 3;
        g.point_y_value[..3].copy_from_slice(&[0, 64, 255]);
        g.point_y_scaling[..3].copy_from_slice(&[20, 30, 40]);
        g.num_cb_points = 2;
        g.point_cb_value[..2].copy_from_slice(&[10, 20]);
        g.ar_coeff_lag = 3;
        g.ar_coeffs_y_plus_128 = [128; 25];
        g.cb_mult = 128;
        g.cb_offset = 256;
        g
    }

    #[test]
    fn lengths() {
        length::<Sequence>("AV1_SEQUENCE");
        length::<TileGroupEntry>("AV1_TILE_GROUP_ENTRY");
        length::<Frame>("AV1_FRAME");
        length::<FilmGrain>("AV1_FILM_GRAIN");
    }

    #[test]
    fn sequence_errors() {
        valid(&seq());
        let mut s = seq();
        s.flags = SequenceFlags::from_bits_retain(1 << 20);
        rejects(&s, reserved_bits("AV1_SEQUENCE", "flags", 1 << 20));
        let mut s = seq();
        s.reserved = 1;
        rejects(&s, reserved_nonzero("AV1_SEQUENCE", "reserved"));
        let mut s = seq();
        s.seq_profile = 3;
        s.order_hint_bits = 9;
        invalid(
            &s,
            &[
                ("seq_profile", "3", "<= 2"),
                ("order_hint_bits", "9", "1..=8"),
            ],
        );
    }

    #[test]
    fn tile_group_entry_errors() {
        let e = TileGroupEntry {
            tile_offset: 100,
            tile_size: 2000,
            tile_row: 0,
            tile_col: 1,
        };
        valid(&e);
        let two = [e.as_bytes(), e.as_bytes()].concat();
        assert_eq!(TileGroupEntry::parse_array(&two).unwrap(), vec![e, e]);
        let mut e2 = e;
        e2.tile_col = 64;
        invalid(&e2, &[("tile_col", "64", "<= 63")]);
    }

    #[test]
    fn frame_errors() {
        valid(&frame());
        let mut f = frame();
        f.frame_type = 4;
        rejects(&f, unknown_enum("AV1_FRAME", "frame_type", 4));
        let mut f = frame();
        f.global_motion.r#type[7] = 4;
        rejects(&f, unknown_enum("AV1_FRAME", "global_motion.type", 4));
        let mut f = frame();
        f.loop_restoration.frame_restoration_type[2] = 4;
        rejects(
            &f,
            unknown_enum("AV1_FRAME", "loop_restoration.frame_restoration_type", 4),
        );
        let mut f = frame();
        f.flags = FrameFlags::from_bits_retain(1 << 20);
        rejects(&f, reserved_bits("AV1_FRAME", "flags", 1 << 20));
        let mut f = frame();
        f.quantization.flags = QuantizationFlags::from_bits_retain(8);
        rejects(&f, reserved_bits("AV1_FRAME", "quantization.flags", 8));
        let mut f = frame();
        f.global_motion.reserved[0] = 1;
        rejects(&f, reserved_nonzero("AV1_FRAME", "global_motion.reserved"));
        let mut f = frame();
        f.tile_info.tile_cols = 65;
        invalid(&f, &[("tile_info.tile_cols", "65", "1..=64")]);
        let mut f = frame();
        f.tile_info.mi_col_starts[2] = 256;
        invalid(
            &f,
            &[(
                "tile_info.mi_col_starts[2]",
                "256",
                "> mi_col_starts[1] = 256",
            )],
        );
        let mut f = frame();
        f.tile_info.tile_rows = 64;
        f.tile_info.tile_cols = 64;
        let v = match f.validate() {
            Err(CtrlError::Invalid(v)) => v,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            v[0],
            Violation {
                control: "AV1_FRAME",
                field: "tile_info.tile_cols * tile_rows".into(),
                value: "4096".into(),
                allowed: "<= 512".into(),
            }
        );
        let mut f = frame();
        f.cdef.y_sec_strength[1] = 5;
        f.superres_denom = 17;
        f.ref_frame_idx[6] = -1;
        invalid(
            &f,
            &[
                ("cdef.y_sec_strength[1]", "5", "<= 4"),
                ("superres_denom", "17", "<= 16"),
                ("ref_frame_idx[6]", "-1", "0..=7"),
            ],
        );
    }

    #[test]
    fn film_grain_errors() {
        valid(&grain());
        let mut g = grain();
        g.flags = FilmGrainFlags::from_bits_retain(0x20 | 1);
        rejects(&g, reserved_bits("AV1_FILM_GRAIN", "flags", 0x20));
        let mut g = grain();
        g.reserved[3] = 1;
        rejects(&g, reserved_nonzero("AV1_FILM_GRAIN", "reserved"));
        let mut g = grain();
        g.num_y_points = 15;
        g.point_cb_value[1] = 10;
        invalid(
            &g,
            &[
                ("num_y_points", "15", "<= 14"),
                ("point_cb_value[1]", "10", "> point_cb_value[0] = 10"),
            ],
        );
        let mut g = grain();
        g.num_y_points = 4;
        invalid(&g, &[("point_y_value[3]", "0", "> point_y_value[2] = 255")]);
        // Without APPLY_GRAIN the points are not used.
        g.flags = FilmGrainFlags::empty();
        assert_eq!(g.validate(), Ok(()));
    }
}

mod mpeg2_tests {
    use super::*;
    use mpeg2::*;

    fn seq() -> Sequence {
        Sequence {
            horizontal_size: 720,
            vertical_size: 576,
            vbv_buffer_size: 112 * 1024,
            profile_and_level_indication: 0x48,
            chroma_format: ChromaFormat::Yuv420 as u8,
            flags: SequenceFlags::PROGRESSIVE,
        }
    }

    fn pic() -> Picture {
        Picture {
            backward_ref_ts: 1,
            forward_ref_ts: 2,
            flags: PictureFlags::TOP_FIELD_FIRST | PictureFlags::FRAME_PRED_DCT,
            f_code: [[2, 2], [15, 15]],
            picture_coding_type: PictureCodingType::P as u8,
            picture_structure: PictureStructure::Frame as u8,
            intra_dc_precision: 2,
            ..Default::default()
        }
    }

    fn quant() -> Quantisation {
        let mut q = Quantisation {
            intra_quantiser_matrix: [16; 64],
            non_intra_quantiser_matrix: [16; 64],
            chroma_intra_quantiser_matrix: [16; 64],
            chroma_non_intra_quantiser_matrix: [16; 64],
        };
        q.intra_quantiser_matrix[0] = 8;
        q.chroma_non_intra_quantiser_matrix[63] = 83;
        q
    }

    #[test]
    fn errors() {
        length::<Sequence>("MPEG2_SEQUENCE");
        length::<Picture>("MPEG2_PICTURE");
        length::<Quantisation>("MPEG2_QUANTISATION");
        valid(&seq());
        valid(&pic());
        valid(&quant());
        let mut s = seq();
        s.chroma_format = 0;
        rejects(&s, unknown_enum("MPEG2_SEQUENCE", "chroma_format", 0));
        let mut s = seq();
        s.flags = SequenceFlags::from_bits_retain(2);
        rejects(&s, reserved_bits("MPEG2_SEQUENCE", "flags", 2));
        let mut s = seq();
        s.horizontal_size = 0;
        invalid(&s, &[("horizontal_size", "0", "1..=16383")]);
        let mut p = pic();
        p.picture_structure = 0;
        rejects(&p, unknown_enum("MPEG2_PICTURE", "picture_structure", 0));
        let mut p = pic();
        p.picture_coding_type = 5;
        rejects(&p, unknown_enum("MPEG2_PICTURE", "picture_coding_type", 5));
        let mut p = pic();
        p.reserved[0] = 1;
        rejects(&p, reserved_nonzero("MPEG2_PICTURE", "reserved"));
        let mut p = pic();
        p.flags = PictureFlags::from_bits_retain(0x100);
        rejects(&p, reserved_bits("MPEG2_PICTURE", "flags", 0x100));
        let mut p = pic();
        p.picture_coding_type = PictureCodingType::D as u8;
        p.intra_dc_precision = 4;
        p.f_code[1][0] = 10;
        invalid(
            &p,
            &[
                ("picture_coding_type", "4", "I, P or B (1..=3)"),
                ("intra_dc_precision", "4", "<= 3"),
                ("f_code[1][0]", "10", "one of 1, 2, 3, 4, 5, 6, 7, 8, 9, 15"),
            ],
        );
        let mut q = quant();
        q.non_intra_quantiser_matrix[5] = 0;
        invalid(&q, &[("non_intra_quantiser_matrix[5]", "0", "1..=255")]);
        // All-zero chroma matrices mean "as luma" (GStreamer, the kernel's default); a
        // zero inside a loaded one does not.
        let mut q = quant();
        q.chroma_intra_quantiser_matrix = [0; 64];
        valid(&q);
        q.chroma_non_intra_quantiser_matrix[1] = 0;
        invalid(
            &q,
            &[("chroma_non_intra_quantiser_matrix[1]", "0", "1..=255")],
        );
        // GStreamer's vbv_buffer_size is in bits.
        let mut s = seq();
        s.vbv_buffer_size = 112 * 16384;
        valid(&s);
    }
}

#[test]
fn misaligned_view_is_an_error() {
    // An 8-aligned buffer, then offset by 1: DecodeParams needs 8.
    let buf = vec![0u64; size_of::<h264::DecodeParams>() / 8 + 1];
    let bytes = &buf.as_bytes()[1..1 + size_of::<h264::DecodeParams>()];
    match h264::DecodeParams::view(bytes) {
        Err(CtrlError::Alignment { control, align, .. }) => {
            assert_eq!((control, align), ("H264_DECODE_PARAMS", 8));
        }
        other => panic!("{other:?}"),
    }
    // The copying parse accepts any alignment.
    assert!(h264::DecodeParams::parse(bytes).is_ok());
}
