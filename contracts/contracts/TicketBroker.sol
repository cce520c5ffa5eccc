// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {Signatures} from "./Signatures.sol";

/// @title TicketBroker: settles OpenStreaming's probabilistic tickets on an EVM chain
/// @notice The on-chain twin of the embedded ledger's `fund`/`unlock`/`withdraw`/`redeem`
///         (src/ledger/state.cpp, docs/ledger.md), rule for rule. Guarantees:
///
///  - **Value.** This contract's balance is always Σ deposits + Σ reserves: ETH
///    enters only through `fund*`, leaves only through `withdraw` (to the sender) and
///    redemption (to the ticket's recipient), and every exit is subtracted first.
///  - **All or nothing.** A winning ticket is paid its full face value — from the
///    sender's deposit, the shortfall from its reserve — or it is not paid, not marked
///    used, and stays redeemable while it is valid. Never a partial payment.
///  - **Once.** A paid ticket (keyed by its EIP-712 signing hash) is never paid again.
///  - **Shared reserve, fixed per round.** In each round a recipient takes at most
///    its share of a sender's reserve: the reserve as it stood at the round's first
///    draw on it, divided by the number of distinct recipients that sender paid in the
///    previous round (at least 1). Both figures are frozen for the round, so the order
///    in which recipients redeem changes no one's share (unlike a live pool).
///  - **Validity.** The redeemer is the ticket's recipient; the sender signed it
///    (EIP-712, domain {name "OpenStreaming", version "1", chainId, this}, strict
///    65-byte low-s signature); keccak256(recipientRand) = recipientRandHash; it wins
///    (keccak256(sig ‖ recipientRand) < winProb); its creation round is at most
///    `ticketValidRounds` old, not in the future, and cites that round's block hash.
///  - **Unlock.** unlock → `unlockRounds` rounds → withdraw everything. Funding (or
///    `cancelUnlock`) cancels a pending unlock. As on the embedded ledger, tickets stay
///    redeemable while the sender is unlocking: it is the payee's job to stop accepting
///    new ones from a withdrawing sender (docs/payments.md).
///
/// Rounds: round r spans blocks [startBlock + r·roundLength, startBlock + (r+1)·roundLength).
/// Its block hash is blockhash(first block of r − 1) — the hash of the block whose
/// sealing opened the round, exactly what the embedded ledger records — stored by the
/// first `initializeRound`, `fund*` or batch redemption in the round. If nobody touches
/// the contract within 256 blocks of a round's start, that hash is gone from the EVM
/// and the round is initialised with blockhash(block.number − 1) instead. A round never
/// initialised has no hash, and tickets citing it are refused.
contract TicketBroker is EIP712, ReentrancyGuardTransient {
    /// The ticket, field for field as src/pay/ticket.h signs it.
    struct Ticket {
        address recipient;
        address sender;
        uint256 faceValue;
        uint256 winProb; // a fraction of 2^256 − 1
        uint256 senderNonce;
        bytes32 recipientRandHash;
        uint256 creationRound;
        bytes32 creationRoundBlockHash;
    }

    /// One ticket to redeem: the ticket, the sender's 65-byte signature, the recipient's secret.
    struct Redemption {
        Ticket ticket;
        bytes sig;
        bytes32 recipientRand;
    }

    /// Why a ticket was or was not paid. The order is the embedded ledger's order of checks,
    /// so both backends give the same reason for the same ticket.
    enum Outcome {
        Paid, //                  0  paid in full
        BadSignatureEncoding, //  1  not 65 bytes, v not 27/28, r/s out of range, high s
        NotRecipient, //          2  msg.sender is not ticket.recipient
        NotSenderSignature, //    3  the signature does not recover to ticket.sender
        RandMismatch, //          4  keccak256(recipientRand) != recipientRandHash
        NotWinner, //             5  keccak256(sig ‖ recipientRand) >= winProb
        AlreadyRedeemed, //       6  this ticket was paid before
        FutureRound, //           7  creationRound > current round
        Expired, //               8  creationRound + ticketValidRounds < current round
        RoundHashMismatch, //     9  no hash for creationRound, or not the one cited
        CannotCover, //          10  deposit + reserve < faceValue (stays redeemable)
        ReserveShareUsedUp //    11  this recipient's reserve share this round is used up (stays redeemable)
    }

    /// A sender's funds. Amounts are uint96 (7.9e10 ether, far above any supply).
    struct Account {
        uint96 deposit;
        uint96 reserve;
        uint64 withdrawRound; // 0: no unlock pending; else withdraw works from this round on
    }

    /// A sender's reserve split and its recipient count, one slot.
    struct ReserveBook {
        uint40 paidRound; //       the round `paidThisRound` counts
        uint24 paidThisRound; //   distinct recipients paid in paidRound
        uint24 paidPrevRound; //   distinct recipients paid in paidRound − 1
        uint40 snapRound; //       the round of the snapshot below (valid when snapRecipients != 0)
        uint24 snapRecipients; //  recipients sharing the reserve in snapRound (>= 1 once set)
        uint96 snapshot; //        the reserve at snapRound's first draw on it
    }

    /// What one recipient did with one sender, one slot. Rounds are stored + 1 (0: never).
    struct Pair {
        uint40 lastPaidRound1; // last round (+1) in which this recipient was paid by this sender
        uint40 takenRound1; //    the round (+1) `taken` counts
        uint96 taken; //          drawn from the sender's reserve in that round
    }

    bytes32 public constant TICKET_TYPEHASH = keccak256(
        "Ticket(address recipient,address sender,uint256 faceValue,uint256 winProb,uint256 senderNonce,"
        "bytes32 recipientRandHash,uint256 creationRound,bytes32 creationRoundBlockHash)"
    );
    /// The embedded ledger's limit on a redeem transaction.
    uint256 public constant MAX_BATCH = 256;

    uint256 public immutable roundLength; //       blocks per round
    uint256 public immutable startBlock; //        the first block of round 0 (deployment)
    uint256 public immutable unlockRounds; //      unlock -> withdraw (embedded: 2)
    uint256 public immutable ticketValidRounds; // a ticket is honoured this many rounds after its creation round (embedded: 4)

    mapping(address => Account) internal s_accounts;
    mapping(address => ReserveBook) internal s_books;
    mapping(address => mapping(address => Pair)) internal s_pairs; // sender -> recipient
    mapping(bytes32 => bool) public usedTickets; //                      by EIP-712 signing hash
    mapping(uint256 => bytes32) internal s_roundHashes;

    event RoundInitialized(uint256 indexed round, bytes32 blockHash);
    event Funded(address indexed sender, uint256 deposit, uint256 reserve);
    event UnlockStarted(address indexed sender, uint256 withdrawRound);
    event UnlockCancelled(address indexed sender);
    event Withdrawn(address indexed sender, uint256 deposit, uint256 reserve);
    /// One per ticket submitted: `paid` is the face value when outcome is Paid, else 0;
    /// `fromReserve` is the part of it drawn from the reserve.
    event TicketOutcome(
        bytes32 indexed ticketHash,
        address indexed sender,
        address indexed recipient,
        Outcome outcome,
        uint256 paid,
        uint256 fromReserve
    );

    error InvalidParameter();
    error AmountTooLarge();
    error ValueMismatch();
    error NothingToUnlock();
    error NotUnlocking();
    error UnlockFirst();
    error Locked(uint256 withdrawRound, uint256 currentRound);
    error BatchTooLarge();
    error TicketNotRedeemed(Outcome outcome);
    error TransferFailed();

    /// @param roundLength_ blocks per round (>= 1)
    /// @param unlockRounds_ rounds between unlock and withdraw (embedded ledger: 2)
    /// @param ticketValidRounds_ rounds a ticket stays redeemable after its creation round (embedded ledger: 4)
    constructor(uint256 roundLength_, uint256 unlockRounds_, uint256 ticketValidRounds_) EIP712("OpenStreaming", "1") {
        if (roundLength_ == 0 || roundLength_ > type(uint32).max || unlockRounds_ > type(uint32).max) {
            revert InvalidParameter();
        }
        if (ticketValidRounds_ > type(uint32).max) revert InvalidParameter();
        roundLength = roundLength_;
        startBlock = block.number;
        unlockRounds = unlockRounds_;
        ticketValidRounds = ticketValidRounds_;
        bytes32 h = blockhash(block.number - 1);
        s_roundHashes[0] = h;
        emit RoundInitialized(0, h);
    }

    // ---- Rounds ----------------------------------------------------------------------

    /// @notice The current round.
    function currentRound() public view returns (uint256) {
        return (block.number - startBlock) / roundLength;
    }

    /// @notice The block hash tickets created in `round` must cite; 0 while the round is
    ///         not initialised (see the contract comment).
    function roundBlockHash(uint256 round) external view returns (bytes32) {
        return s_roundHashes[round];
    }

    /// @notice Records the current round's block hash if it is not yet recorded. Anyone
    ///         may call it; `fund*` and batch redemption call it too. Returns the hash.
    function initializeRound() external returns (bytes32) {
        return _initializeRound(currentRound());
    }

    function _initializeRound(uint256 round) internal returns (bytes32 h) {
        h = s_roundHashes[round];
        if (h != 0) return h;
        uint256 opener = startBlock + round * roundLength - 1; // round >= 1 here: round 0 is set at construction
        h = blockhash(opener);
        if (h == 0) h = blockhash(block.number - 1); // the opener is older than 256 blocks
        s_roundHashes[round] = h;
        emit RoundInitialized(round, h);
    }

    // ---- Funds -----------------------------------------------------------------------

    /// @notice Adds msg.value to the caller's deposit. Cancels a pending unlock.
    function fundDeposit() external payable {
        _fund(msg.value, 0);
    }

    /// @notice Adds msg.value to the caller's reserve. Cancels a pending unlock.
    function fundReserve() external payable {
        _fund(0, msg.value);
    }

    /// @notice Adds `depositAmount` to the deposit and `reserveAmount` to the reserve;
    ///         msg.value must be their sum. Cancels a pending unlock.
    function fundDepositAndReserve(uint256 depositAmount, uint256 reserveAmount) external payable {
        if (depositAmount > type(uint96).max || reserveAmount > type(uint96).max) revert AmountTooLarge();
        if (depositAmount + reserveAmount != msg.value) revert ValueMismatch();
        _fund(depositAmount, reserveAmount);
    }

    function _fund(uint256 d, uint256 r) internal {
        _initializeRound(currentRound());
        Account storage a = s_accounts[msg.sender];
        uint256 nd = uint256(a.deposit) + d;
        uint256 nr = uint256(a.reserve) + r;
        if (nd > type(uint96).max || nr > type(uint96).max) revert AmountTooLarge();
        // The embedded ledger's `fund`: funding cancels an unlock.
        if (a.withdrawRound != 0) emit UnlockCancelled(msg.sender);
        (a.deposit, a.reserve, a.withdrawRound) = (uint96(nd), uint96(nr), 0);
        emit Funded(msg.sender, nd, nr);
    }

    /// @notice Starts the unlock period: withdraw works from currentRound() + unlockRounds.
    ///         Calling it again restarts the period (as on the embedded ledger).
    function unlock() external {
        Account storage a = s_accounts[msg.sender];
        if (a.deposit == 0 && a.reserve == 0) revert NothingToUnlock();
        uint256 w = currentRound() + unlockRounds;
        a.withdrawRound = uint64(w);
        emit UnlockStarted(msg.sender, w);
    }

    /// @notice Cancels a pending unlock (funding does too).
    function cancelUnlock() external {
        Account storage a = s_accounts[msg.sender];
        if (a.withdrawRound == 0) revert NotUnlocking();
        a.withdrawRound = 0;
        emit UnlockCancelled(msg.sender);
    }

    /// @notice After the unlock period: pays the caller its whole deposit and reserve.
    function withdraw() external nonReentrant {
        Account memory a = s_accounts[msg.sender];
        if (a.withdrawRound == 0) revert UnlockFirst();
        uint256 cur = currentRound();
        if (cur < a.withdrawRound) revert Locked(a.withdrawRound, cur);
        delete s_accounts[msg.sender];
        emit Withdrawn(msg.sender, a.deposit, a.reserve);
        _send(msg.sender, uint256(a.deposit) + a.reserve);
    }

    // ---- Redemption ------------------------------------------------------------------

    /// @notice Redeems one winning ticket for msg.sender; reverts with
    ///         TicketNotRedeemed(outcome) unless it is paid.
    function redeemWinningTicket(Ticket calldata ticket, bytes calldata sig, bytes32 recipientRand)
        external
        nonReentrant
    {
        (Outcome o,) = _redeem(ticket, sig, recipientRand, currentRound());
        if (o != Outcome.Paid) revert TicketNotRedeemed(o);
        _send(msg.sender, ticket.faceValue);
    }

    /// @notice Redeems up to MAX_BATCH tickets for msg.sender. Each is judged on its own:
    ///         one that is not paid does not revert the batch. Emits TicketOutcome per
    ///         ticket and returns the outcomes in order; the sum paid is sent once, at the end.
    function redeemWinningTickets(Redemption[] calldata batch) external nonReentrant returns (Outcome[] memory outcomes) {
        uint256 n = batch.length;
        if (n > MAX_BATCH) revert BatchTooLarge();
        uint256 cur = currentRound();
        _initializeRound(cur);
        outcomes = new Outcome[](n);
        uint256 total;
        for (uint256 i; i < n; ++i) {
            Redemption calldata item = batch[i];
            (Outcome o,) = _redeem(item.ticket, item.sig, item.recipientRand, cur);
            outcomes[i] = o;
            // faceValue <= deposit + reserve < 2^97 when paid: the sum of <= 256 cannot overflow.
            if (o == Outcome.Paid) {
                unchecked {
                    total += item.ticket.faceValue;
                }
            }
        }
        if (total != 0) _send(msg.sender, total);
    }

    /// Judges one ticket and, when it is paid, moves its value out of the sender's funds
    /// (the caller sends it). Emits TicketOutcome.
    function _redeem(Ticket calldata t, bytes calldata sig, bytes32 rand, uint256 cur)
        internal
        returns (Outcome o, uint256 fromReserve)
    {
        bytes32 h = _hashTypedDataV4(_structHash(t));
        o = _check(t, h, sig, rand, cur);
        if (o == Outcome.Paid) (o, fromReserve) = _pay(t.sender, t.faceValue, cur);
        if (o == Outcome.Paid) usedTickets[h] = true;
        emit TicketOutcome(h, t.sender, msg.sender, o, o == Outcome.Paid ? t.faceValue : 0, fromReserve);
    }

    /// Every check that needs no funds, in the embedded ledger's order.
    function _check(Ticket calldata t, bytes32 h, bytes calldata sig, bytes32 rand, uint256 cur)
        internal
        view
        returns (Outcome)
    {
        (bool wellFormed, address signer) = Signatures.recover(h, sig);
        if (!wellFormed) return Outcome.BadSignatureEncoding;
        if (t.recipient != msg.sender) return Outcome.NotRecipient;
        if (signer == address(0) || signer != t.sender) return Outcome.NotSenderSignature;
        if (keccak256(abi.encode(rand)) != t.recipientRandHash) return Outcome.RandMismatch;
        if (uint256(keccak256(abi.encodePacked(sig, rand))) >= t.winProb) return Outcome.NotWinner;
        if (usedTickets[h]) return Outcome.AlreadyRedeemed;
        uint256 created = t.creationRound;
        if (created > cur) return Outcome.FutureRound;
        if (created + ticketValidRounds < cur) return Outcome.Expired;
        bytes32 rh = s_roundHashes[created];
        if (rh == 0 || rh != t.creationRoundBlockHash) return Outcome.RoundHashMismatch;
        return Outcome.Paid;
    }

    /// Takes `face` from `sender`'s deposit, the shortfall from msg.sender's share of its
    /// reserve, or nothing at all.
    function _pay(address sender, uint256 face, uint256 cur) internal returns (Outcome, uint256) {
        Account memory a = s_accounts[sender];
        if (uint256(a.deposit) + a.reserve < face) return (Outcome.CannotCover, 0);
        // face <= deposit + reserve < 2^97 from here on.
        uint256 fromDeposit = face < a.deposit ? face : a.deposit;
        uint256 fromReserve;
        unchecked { fromReserve = face - fromDeposit; }

        ReserveBook memory b = s_books[sender];
        bool bookDirty;
        if (b.paidRound != cur) { // the first payment by this sender this round: roll the count
            b.paidPrevRound = b.paidRound + 1 == cur ? b.paidThisRound : 0;
            b.paidThisRound = 0;
            b.paidRound = uint40(cur);
            bookDirty = true;
        }
        Pair memory p = s_pairs[sender][msg.sender];
        if (fromReserve != 0) {
            (bool ok, bool snapped) = _drawReserve(b, p, a.reserve, fromReserve, cur);
            if (snapped) bookDirty = true;
            if (!ok) {
                if (bookDirty) s_books[sender] = b; // the snapshot is fixed by the attempt, as on the embedded ledger
                return (Outcome.ReserveShareUsedUp, 0);
            }
        }
        uint40 cur1 = uint40(cur + 1);
        if (p.lastPaidRound1 != cur1) { // a new recipient for this sender this round
            p.lastPaidRound1 = cur1;
            b.paidThisRound += 1;
            bookDirty = true;
        }
        unchecked {
            a.deposit -= uint96(fromDeposit);
            a.reserve -= uint96(fromReserve);
        }
        s_accounts[sender] = a;
        if (bookDirty) s_books[sender] = b;
        s_pairs[sender][msg.sender] = p;
        return (Outcome.Paid, fromReserve);
    }

    /// Draws `amount` from msg.sender's share of the reserve in round `cur` (in memory):
    /// fixes the round's snapshot at its first draw. ok: within the share.
    function _drawReserve(ReserveBook memory b, Pair memory p, uint96 reserve, uint256 amount, uint256 cur)
        internal
        pure
        returns (bool ok, bool snapped)
    {
        if (b.snapRecipients == 0 || b.snapRound != cur) {
            b.snapRound = uint40(cur);
            b.snapRecipients = b.paidPrevRound == 0 ? 1 : b.paidPrevRound;
            b.snapshot = reserve;
            snapped = true;
        }
        uint256 share = b.snapshot / b.snapRecipients;
        uint40 cur1 = uint40(cur + 1);
        uint256 taken = p.takenRound1 == cur1 ? p.taken : 0;
        if (taken + amount > share) return (false, snapped);
        p.taken = uint96(taken + amount); // <= share <= reserve < 2^96
        p.takenRound1 = cur1;
        return (true, snapped);
    }

    function _structHash(Ticket calldata t) internal pure returns (bytes32 sh) {
        bytes32 typeHash = TICKET_TYPEHASH;
        assembly ("memory-safe") {
            // typehash ‖ the 8 static words of the ticket, exactly as abi.encode would lay them out.
            // Addresses are masked so dirty high bits in calldata cannot change the hash.
            let m := mload(0x40)
            mstore(m, typeHash)
            calldatacopy(add(m, 0x20), t, 0x100)
            mstore(add(m, 0x20), and(mload(add(m, 0x20)), 0xffffffffffffffffffffffffffffffffffffffff))
            mstore(add(m, 0x40), and(mload(add(m, 0x40)), 0xffffffffffffffffffffffffffffffffffffffff))
            sh := keccak256(m, 0x120)
        }
    }

    function _send(address to, uint256 amount) internal {
        (bool ok,) = to.call{value: amount}("");
        if (!ok) revert TransferFailed();
    }

    // ---- Views -----------------------------------------------------------------------

    /// @notice The EIP-712 signing hash of `ticket` under this broker's domain: what the
    ///         sender signs and what usedTickets is keyed by.
    function ticketHash(Ticket calldata ticket) external view returns (bytes32) {
        return _hashTypedDataV4(_structHash(ticket));
    }

    /// @notice This broker's EIP-712 domain separator.
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    /// @notice keccak256(sig ‖ recipientRand) < winProb.
    function isWinningTicket(bytes calldata sig, bytes32 recipientRand, uint256 winProb) external pure returns (bool) {
        return uint256(keccak256(abi.encodePacked(sig, recipientRand))) < winProb;
    }

    /// @notice A sender's funds, as ledger_getAccount reports them.
    /// @return deposit the deposit
    /// @return reserve the reserve
    /// @return withdrawRound 0 when no unlock is pending, else the round from which withdraw works
    function getSender(address sender) external view returns (uint256 deposit, uint256 reserve, uint256 withdrawRound) {
        Account memory a = s_accounts[sender];
        return (a.deposit, a.reserve, a.withdrawRound);
    }

    /// @notice How many recipients share `sender`'s reserve in the current round.
    function reserveRecipients(address sender) public view returns (uint256) {
        uint256 cur = currentRound();
        ReserveBook memory b = s_books[sender];
        if (b.snapRecipients != 0 && b.snapRound == cur) return b.snapRecipients;
        uint256 prev = b.paidRound == cur ? b.paidPrevRound : b.paidRound + 1 == cur ? b.paidThisRound : 0;
        return prev == 0 ? 1 : prev;
    }

    /// @notice One recipient's share of `sender`'s reserve in the current round: what a payee counts on.
    function reserveShare(address sender) external view returns (uint256) {
        uint256 cur = currentRound();
        ReserveBook memory b = s_books[sender];
        uint256 snapshot = b.snapRecipients != 0 && b.snapRound == cur ? b.snapshot : s_accounts[sender].reserve;
        return snapshot / reserveRecipients(sender);
    }

    /// @notice What `recipient` has drawn from `sender`'s reserve in the current round.
    function reserveTaken(address sender, address recipient) external view returns (uint256) {
        Pair memory p = s_pairs[sender][recipient];
        return p.takenRound1 == currentRound() + 1 ? p.taken : 0;
    }
}
