//! The forwarding program, assembled here instruction by instruction (eBPF, the kernel's
//! `Documentation/bpf/standardization/instruction-set.rst`), so the switch needs no clang,
//! no libbpf and no object file: the map descriptors go straight into the code.
//!
//! Per packet at an interface's TCX ingress (before the IP stack):
//! 1. IPv4 without options or fragments, UDP, RTP version 2, one packet (not a GRO
//!    train), else next program (the stack, then our relay thread, takes it);
//! 2. look up `ROUTES` by (source address, source port, destination port): the latched
//!    phone talking to one of our legs. A miss — any stranger, any leg not offloaded —
//!    goes up the stack unchanged;
//! 3. the payload type must be the route's (telephone events, comfort noise and RTCP
//!    muxed on the port go up to the relay thread, which handles them as always);
//! 4. rewrite addresses and ports to "from our other leg to the other phone", fixing
//!    the IP and UDP checksums (by difference, so `CHECKSUM_PARTIAL` loopback packets
//!    stay right), count the packet in `COUNTERS` (packets, payload bytes, time, last
//!    sequence number);
//! 5. local destination: on to the stack, which delivers it to the phone's socket;
//!    otherwise out of the interface the route names, with `bpf_redirect_neigh` (the
//!    kernel finds the next hop and its Ethernet address). Not `bpf_fib_lookup`: that one
//!    refuses an interface with IP forwarding off, which a switch should not need.
//!
//! Return codes are TCX's: `TCX_NEXT` (-1) lets the next program and then the stack see the
//! packet, so several engines (tests, two switches on one host) chain on one interface.

use super::{COUNTERS_VALUE, ROUTES_VALUE};

// opcode classes and fields (instruction-set.rst)
const LDX: u8 = 0x01;
const STX: u8 = 0x03;
const ALU: u8 = 0x04;
const JMP: u8 = 0x05;
const ALU64: u8 = 0x07;
const W: u8 = 0x00;
const H: u8 = 0x08;
const B: u8 = 0x10;
const DW: u8 = 0x18;
const MEM: u8 = 0x60;
const ATOMIC: u8 = 0xc0;
const K: u8 = 0x00;
const X: u8 = 0x08;
const ADD: u8 = 0x00;
const SUB: u8 = 0x10;
const AND: u8 = 0x50;
const MOV: u8 = 0xb0;
const END_TO_BE: u8 = 0xd0 | 0x08;
const JEQ: u8 = 0x10;
const JGT: u8 = 0x20;
const JGE: u8 = 0x30;
const JSET: u8 = 0x40;
const JNE: u8 = 0x50;
const JSLT: u8 = 0xc0;
const SUB_X: u8 = 0x18;
const CALL: u8 = 0x80;
const EXIT: u8 = 0x90;
const JA: u8 = 0x00;

// helpers (enum bpf_func_id)
const MAP_LOOKUP_ELEM: i32 = 1;
const KTIME_GET_NS: i32 = 5;
const SKB_STORE_BYTES: i32 = 9;
const L3_CSUM_REPLACE: i32 = 10;
const L4_CSUM_REPLACE: i32 = 11;
const REDIRECT_NEIGH: i32 = 152;
const CSUM_DIFF: i32 = 28;
const SKB_PULL_DATA: i32 = 39;

const F_PSEUDO_HDR: i32 = 0x10;
const F_MARK_MANGLED_0: i32 = 0x20;
const TCX_NEXT: i32 = -1;
const TCX_DROP: i32 = 2;

// struct __sk_buff
const SKB_DATA: i16 = 76;
const SKB_DATA_END: i16 = 80;
const SKB_GSO_SEGS: i16 = 164;

// the packet: Ethernet (14) | IPv4 (20, no options) | UDP (8) | RTP (12 at least)
const ETH_PROTO: i16 = 12;
const IP: i16 = 14;
const IP_CSUM: i32 = 24;
const IP_SADDR: i16 = 26;
const UDP: i16 = 34;
const UDP_CSUM: i32 = 40;
const RTP: i16 = 42;
const HEADERS: i32 = 54;

// the stack frame (r10 is its end)
const KEY: i16 = -8; // saddr, sport, dport: 8 bytes, as in the packet
const OLD_ADDRS: i16 = -24; // saddr, daddr
const OLD_PORTS: i16 = -16; // sport, dport
const SEQ: i16 = -12; // host order
const PAYLOAD: i16 = -32;
const DIFF_ADDRS: i16 = -40;
const DIFF_PORTS: i16 = -48;
const SSRC: i16 = -56; // as in the packet

// the maps' values (see super)
const ROUTE_PT: i16 = 12;
const ROUTE_FLAGS: i16 = 13;
pub(super) const ROUTE_IFINDEX: usize = 16;
pub(super) const ROUTE_LOCAL: u8 = 1;
pub(super) const COUNT_PACKETS: usize = 0;
pub(super) const COUNT_BYTES: usize = 8;
pub(super) const COUNT_LAST_NS: usize = 16;
pub(super) const COUNT_SEQ: usize = 24; // u16, host order
pub(super) const COUNT_SSRC: usize = 28; // as in the packet
pub(super) const COUNT_GAPS: usize = 32;
pub(super) const COUNT_LOST: usize = 40; // i64: a late packet takes one back
pub(super) const COUNT_SSRC_CHANGES: usize = 48;
const _: () = assert!(ROUTES_VALUE == 20 && COUNTERS_VALUE == 56);
/// RFC 3550 A.1: a jump of this many or more restarts the sequence, not a gap; a packet
/// up to `MAX_MISORDER` behind is a late one.
const MAX_DROPOUT: i32 = 3000;
const MAX_MISORDER: i32 = 100;

fn at(field: usize) -> i16 {
    field as i16
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Label {
    Next,
    Counted,
    Drop,
    Linear,
    SameSsrc,
    StoreSeq,
    LateOne,
    Stamp,
}

/// A tiny assembler: instructions as the kernel reads them (little-endian hosts), jumps to
/// labels patched once the program is complete.
struct Asm {
    code: Vec<u64>,
    jumps: Vec<(usize, Label)>,
    labels: Vec<(Label, usize)>,
}

fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> u64 {
    u64::from(code)
        | u64::from(dst | (src << 4)) << 8
        | u64::from(off as u16) << 16
        | u64::from(imm as u32) << 32
}

impl Asm {
    fn op(&mut self, code: u8, dst: u8, src: u8, off: i16, imm: i32) -> &mut Self {
        self.code.push(insn(code, dst, src, off, imm));
        self
    }
    fn mov(&mut self, dst: u8, src: u8) -> &mut Self {
        self.op(ALU64 | MOV | X, dst, src, 0, 0)
    }
    fn movi(&mut self, dst: u8, imm: i32) -> &mut Self {
        self.op(ALU64 | MOV | K, dst, 0, 0, imm)
    }
    fn addi(&mut self, dst: u8, imm: i32) -> &mut Self {
        self.op(ALU64 | ADD | K, dst, 0, 0, imm)
    }
    fn andi(&mut self, dst: u8, imm: i32) -> &mut Self {
        self.op(ALU64 | AND | K, dst, 0, 0, imm)
    }
    fn load(&mut self, size: u8, dst: u8, base: u8, off: i16) -> &mut Self {
        self.op(LDX | MEM | size, dst, base, off, 0)
    }
    fn store(&mut self, size: u8, base: u8, off: i16, src: u8) -> &mut Self {
        self.op(STX | MEM | size, base, src, off, 0)
    }
    /// `lock *(u64 *)(base + off) += src`
    fn atomic_add(&mut self, base: u8, off: i16, src: u8) -> &mut Self {
        self.op(STX | ATOMIC | DW, base, src, off, ADD.into())
    }
    /// `r = &stack[off]`
    fn frame(&mut self, dst: u8, off: i16) -> &mut Self {
        self.mov(dst, 10).addi(dst, off.into())
    }
    /// `r1 = map` (a 16-byte `BPF_PSEUDO_MAP_FD` load).
    fn map(&mut self, fd: i32) -> &mut Self {
        self.op(0x18, 1, 1, 0, fd).op(0, 0, 0, 0, 0)
    }
    fn call(&mut self, helper: i32) -> &mut Self {
        self.op(JMP | CALL, 0, 0, 0, helper)
    }
    fn jump(&mut self, code: u8, dst: u8, src: u8, imm: i32, to: Label) -> &mut Self {
        self.jumps.push((self.code.len(), to));
        self.op(code, dst, src, 0, imm)
    }
    /// `if dst <op> imm goto to`
    fn ji(&mut self, op: u8, dst: u8, imm: i32, to: Label) -> &mut Self {
        self.jump(JMP | op | K, dst, 0, imm, to)
    }
    fn label(&mut self, l: Label) -> &mut Self {
        self.labels.push((l, self.code.len()));
        self
    }
    fn exit(&mut self) -> &mut Self {
        self.op(JMP | EXIT, 0, 0, 0, 0)
    }
    fn finish(mut self) -> Vec<u64> {
        for &(at, to) in &self.jumps {
            let target = self.labels.iter().find(|(l, _)| *l == to).expect("label").1;
            let off = (target as i64 - at as i64 - 1) as i16;
            self.code[at] = (self.code[at] & !0xffff_0000) | u64::from(off as u16) << 16;
        }
        self.code
    }
}

/// The program, with the two maps' descriptors built in.
pub(super) fn forwarder(routes: i32, counters: i32) -> Vec<u64> {
    use Label::*;
    let mut a = Asm {
        code: Vec::with_capacity(160),
        jumps: Vec::new(),
        labels: Vec::new(),
    };
    // r6 = skb; r2 = data, r3 = data_end; every header we read within bounds (a packet
    // whose headers are not all in the linear part, as a veth may hand over, is pulled)
    a.mov(6, 1)
        .load(W, 2, 6, SKB_DATA)
        .load(W, 3, 6, SKB_DATA_END)
        .mov(4, 2)
        .addi(4, HEADERS)
        .jump(JMP | JGE | X, 3, 4, 0, Linear)
        .mov(1, 6)
        .movi(2, HEADERS)
        .call(SKB_PULL_DATA)
        .load(W, 2, 6, SKB_DATA)
        .load(W, 3, 6, SKB_DATA_END)
        .mov(4, 2)
        .addi(4, HEADERS)
        .jump(JMP | JGT | X, 4, 3, 0, Next)
        .label(Linear)
        .load(W, 4, 6, SKB_GSO_SEGS)
        .ji(JGT, 4, 1, Next)
        // IPv4 (0x0800 read little-endian), no options, UDP, not a fragment
        .load(H, 4, 2, ETH_PROTO)
        .ji(JNE, 4, 0x0008, Next)
        .load(B, 4, 2, IP)
        .ji(JNE, 4, 0x45, Next)
        .load(B, 4, 2, IP + 9)
        .ji(JNE, 4, 17, Next)
        .load(H, 4, 2, IP + 6)
        .andi(4, 0xff3f)
        .ji(JNE, 4, 0, Next)
        // RTP version 2; r7 = payload type
        .load(B, 4, 2, RTP)
        .andi(4, 0xc0)
        .ji(JNE, 4, 0x80, Next)
        .load(B, 7, 2, RTP + 1)
        .andi(7, 0x7f)
        // the key and what the rewrite needs, copied out before any helper runs
        .load(W, 4, 2, IP_SADDR)
        .store(W, 10, KEY, 4)
        .store(W, 10, OLD_ADDRS, 4)
        .load(W, 4, 2, IP_SADDR + 4)
        .store(W, 10, OLD_ADDRS + 4, 4)
        .load(W, 4, 2, UDP)
        .store(W, 10, OLD_PORTS, 4)
        .store(W, 10, KEY + 4, 4)
        .load(H, 4, 2, RTP + 2)
        .op(ALU | END_TO_BE, 4, 0, 0, 16)
        .store(H, 10, SEQ, 4)
        .load(W, 4, 2, RTP + 8)
        .store(W, 10, SSRC, 4)
        .load(H, 4, 2, UDP + 4)
        .op(ALU | END_TO_BE, 4, 0, 0, 16)
        .op(ALU64 | SUB | K, 4, 0, 0, 8)
        .store(DW, 10, PAYLOAD, 4)
        // r9 = the route, if this is a latched phone's leg
        .map(routes)
        .frame(2, KEY)
        .call(MAP_LOOKUP_ELEM)
        .ji(JEQ, 0, 0, Next)
        .mov(9, 0)
        .load(B, 4, 9, ROUTE_PT)
        .jump(JMP | JNE | X, 4, 7, 0, Next)
        .load(B, 8, 9, ROUTE_FLAGS)
        // addresses and ports: checksums by difference, then the bytes
        .frame(1, OLD_ADDRS)
        .movi(2, 8)
        .mov(3, 9)
        .movi(4, 8)
        .movi(5, 0)
        .call(CSUM_DIFF)
        .store(DW, 10, DIFF_ADDRS, 0)
        .frame(1, OLD_PORTS)
        .movi(2, 4)
        .mov(3, 9)
        .addi(3, 8)
        .movi(4, 4)
        .movi(5, 0)
        .call(CSUM_DIFF)
        .store(DW, 10, DIFF_PORTS, 0)
        .mov(1, 6)
        .movi(2, IP_CSUM)
        .movi(3, 0)
        .load(DW, 4, 10, DIFF_ADDRS)
        .movi(5, 0)
        .call(L3_CSUM_REPLACE)
        .mov(1, 6)
        .movi(2, UDP_CSUM)
        .movi(3, 0)
        .load(DW, 4, 10, DIFF_ADDRS)
        .movi(5, F_PSEUDO_HDR | F_MARK_MANGLED_0)
        .call(L4_CSUM_REPLACE)
        .mov(1, 6)
        .movi(2, UDP_CSUM)
        .movi(3, 0)
        .load(DW, 4, 10, DIFF_PORTS)
        .movi(5, F_MARK_MANGLED_0)
        .call(L4_CSUM_REPLACE)
        .mov(1, 6)
        .movi(2, IP_SADDR.into())
        .mov(3, 9)
        .movi(4, 12)
        .movi(5, 0)
        .call(SKB_STORE_BYTES)
        .ji(JSLT, 0, 0, Drop) // not written: its checksums no longer match it
        // counted
        .map(counters)
        .frame(2, KEY)
        .call(MAP_LOOKUP_ELEM)
        .ji(JEQ, 0, 0, Counted)
        .mov(7, 0)
        .movi(1, 1)
        .atomic_add(7, at(COUNT_PACKETS), 1)
        .load(DW, 1, 10, PAYLOAD)
        .atomic_add(7, at(COUNT_BYTES), 1)
        // receiver statistics as the relay thread keeps them (stats::Reception), seeded
        // by it with the sequence number and SSRC of the last packet it saw
        .load(W, 1, 7, at(COUNT_SSRC))
        .load(W, 2, 10, SSRC)
        .jump(JMP | JEQ | X, 1, 2, 0, SameSsrc)
        .store(W, 7, at(COUNT_SSRC), 2)
        .movi(1, 1)
        .atomic_add(7, at(COUNT_SSRC_CHANGES), 1)
        .jump(JMP | JA, 0, 0, 0, StoreSeq)
        .label(SameSsrc)
        .load(H, 3, 10, SEQ)
        .load(H, 2, 7, at(COUNT_SEQ))
        .op(ALU64 | SUB_X, 3, 2, 0, 0)
        .andi(3, 0xffff)
        .ji(JEQ, 3, 0, Stamp) // a duplicate
        .ji(JGT, 3, 0xffff - MAX_MISORDER, LateOne)
        .ji(JGT, 3, MAX_DROPOUT - 1, StoreSeq) // a restart
        .ji(JEQ, 3, 1, StoreSeq)
        .movi(1, 1)
        .atomic_add(7, at(COUNT_GAPS), 1)
        .addi(3, -1)
        .atomic_add(7, at(COUNT_LOST), 3)
        .label(StoreSeq)
        .load(H, 1, 10, SEQ)
        .store(H, 7, at(COUNT_SEQ), 1)
        .jump(JMP | JA, 0, 0, 0, Stamp)
        .label(LateOne)
        .movi(1, -1)
        .atomic_add(7, at(COUNT_LOST), 1)
        .label(Stamp)
        .call(KTIME_GET_NS)
        .store(DW, 7, at(COUNT_LAST_NS), 0)
        .label(Counted)
        .ji(JSET, 8, ROUTE_LOCAL.into(), Next)
        // out of the interface the relay thread's packets to that phone take: the kernel
        // finds the next hop and its Ethernet address (and resolves it if it must)
        .load(W, 1, 9, at(ROUTE_IFINDEX))
        .movi(2, 0)
        .movi(3, 0)
        .movi(4, 0)
        .call(REDIRECT_NEIGH)
        .exit()
        .label(Next)
        .movi(0, TCX_NEXT)
        .exit()
        .label(Drop)
        .movi(0, TCX_DROP)
        .exit();
    a.finish()
}
