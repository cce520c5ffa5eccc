// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {Signatures} from "./Signatures.sol";

/// @title StreamChannels: one-way payment channels paid by cumulative vouchers
/// @notice The embedded ledger's open_channel / top_up / claim / close_channel /
///         settle_channel (src/ledger/state.cpp) plus an expiry. Guarantees:
///
///  - **Value.** This contract's balance is always Σ (deposit − paid) over channels
///    not settled. Each channel pays only from its own deposit: to its payee (claims)
///    and to its payer (settle), never more than the deposit in total.
///  - **Vouchers.** The payer signs EIP-712 `Voucher(bytes32 channelId,uint256 cumulative)`
///    in the domain {name "OpenStreaming", version "1", chainId, this}. The domain binds a
///    voucher to this chain and this contract, the channel id to one channel, so it cannot
///    be replayed elsewhere. A claim pays cumulative − paid; a voucher at or below `paid`
///    is stale and refused, so replaying an old (lower) voucher pays nothing.
///  - **No race at close.** The payer's `close` starts a challenge period of
///    `challengeBlocks`. The payee may claim up to and including block `closesAt`;
///    `settle` works only after it. The two windows never overlap.
///  - **Never locked forever.** Each channel has an expiry block fixed at open. The payee
///    may claim until the expiry (inclusive); after it anyone may settle, returning the
///    rest to the payer, with no close needed.
///  - **Reentrancy.** State is written before ETH is sent, and every paying function is
///    nonReentrant.
///
/// The payee cannot close (it just stops claiming) and cannot self-report: only a
/// voucher the payer signed pays it.
contract StreamChannels is EIP712, ReentrancyGuardTransient {
    enum State {
        None,
        Open,
        Closing,
        Settled
    }

    /// Three slots; `paid` shares its slot with `deposit` so a first claim rewrites a
    /// non-zero slot instead of creating one.
    struct Channel {
        address payer;
        uint40 closesAt; //  0 unless Closing: the last block in which the payee may claim
        uint40 expiry; //    the last block in which the payee may claim at all
        State state;
        address payee;
        uint128 deposit; //  msg.value totals; ETH's supply is far below 2^128
        uint128 paid;
    }

    bytes32 public constant VOUCHER_TYPEHASH = keccak256("Voucher(bytes32 channelId,uint256 cumulative)");

    /// Blocks between the payer's close and settle (embedded ledger: 40).
    uint256 public immutable challengeBlocks;

    mapping(bytes32 => Channel) internal s_channels;

    event ChannelOpened(
        bytes32 indexed channelId, address indexed payer, address indexed payee, uint256 deposit, uint256 expiry
    );
    event ChannelToppedUp(bytes32 indexed channelId, uint256 deposit);
    event ChannelClaimed(bytes32 indexed channelId, uint256 amount, uint256 paid);
    event ChannelClosing(bytes32 indexed channelId, uint256 closesAt);
    event ChannelSettled(bytes32 indexed channelId, uint256 returned);

    error InvalidParameter();
    error ChannelExists();
    error NoSuchChannel();
    error NotPayer();
    error NotPayee();
    error NotOpen();
    error ChannelSettledAlready();
    error ChannelExpired();
    error ChallengePeriodOver();
    error ChallengePeriodNotOver();
    error BadVoucherSignature();
    error StaleVoucher(uint256 cumulative, uint256 paid);
    error VoucherExceedsDeposit(uint256 cumulative, uint256 deposit);
    error TransferFailed();

    /// @param challengeBlocks_ blocks from close to settle (>= 1; embedded ledger: 40)
    constructor(uint256 challengeBlocks_) EIP712("OpenStreaming", "1") {
        if (challengeBlocks_ == 0 || challengeBlocks_ > type(uint32).max) revert InvalidParameter();
        challengeBlocks = challengeBlocks_;
    }

    /// @notice The id a channel from `payer` to `payee` with `salt` gets (the payer picks
    ///         the salt, so it knows the id before the transaction is mined).
    function channelId(address payer, address payee, bytes32 salt) public view returns (bytes32) {
        return keccak256(abi.encode(block.chainid, address(this), payer, payee, salt));
    }

    /// @notice Opens a channel to `payee` funded with msg.value, claimable until block `expiry`.
    /// @param expiry the last block in which the payee may claim; at least challengeBlocks from now
    /// @param salt any value that makes the id new (see channelId)
    function open(address payee, uint256 expiry, bytes32 salt) external payable returns (bytes32 id) {
        if (payee == address(0) || payee == msg.sender || msg.value == 0) revert InvalidParameter();
        if (expiry < block.number + challengeBlocks || expiry > type(uint40).max) revert InvalidParameter();
        id = channelId(msg.sender, payee, salt);
        Channel storage c = s_channels[id];
        if (c.state != State.None) revert ChannelExists();
        (c.payer, c.expiry, c.state) = (msg.sender, uint40(expiry), State.Open);
        (c.payee, c.deposit) = (payee, uint128(msg.value));
        emit ChannelOpened(id, msg.sender, payee, msg.value, expiry);
    }

    /// @notice Adds msg.value to the deposit. Payer only, while open and not expired.
    function topUp(bytes32 id) external payable {
        Channel storage c = s_channels[id];
        State st = c.state;
        if (st == State.None) revert NoSuchChannel();
        if (msg.sender != c.payer) revert NotPayer();
        if (st != State.Open) revert NotOpen();
        if (block.number > c.expiry) revert ChannelExpired();
        if (msg.value == 0) revert InvalidParameter();
        uint128 d = c.deposit + uint128(msg.value);
        c.deposit = d;
        emit ChannelToppedUp(id, d);
    }

    /// @notice Pays the payee cumulative − paid against the payer's voucher for `cumulative`.
    ///         Payee only; until the expiry, and while closing until closesAt.
    function claim(bytes32 id, uint256 cumulative, bytes calldata sig) external nonReentrant {
        Channel storage c = s_channels[id];
        State st = c.state;
        if (st == State.None) revert NoSuchChannel();
        if (st == State.Settled) revert ChannelSettledAlready();
        if (msg.sender != c.payee) revert NotPayee();
        if (st == State.Closing && block.number > c.closesAt) revert ChallengePeriodOver();
        if (block.number > c.expiry) revert ChannelExpired();
        (bool ok, address signer) = Signatures.recover(voucherHash(id, cumulative), sig);
        if (!ok || signer == address(0) || signer != c.payer) revert BadVoucherSignature();
        uint256 paid = c.paid;
        uint256 deposit = c.deposit;
        if (cumulative <= paid) revert StaleVoucher(cumulative, paid);
        if (cumulative > deposit) revert VoucherExceedsDeposit(cumulative, deposit);
        c.paid = uint128(cumulative); // <= deposit < 2^128
        uint256 due;
        unchecked { due = cumulative - paid; }
        emit ChannelClaimed(id, due, cumulative);
        _send(msg.sender, due);
    }

    /// @notice Starts the challenge period. Payer only, once.
    function close(bytes32 id) external {
        Channel storage c = s_channels[id];
        State st = c.state;
        if (st == State.None) revert NoSuchChannel();
        if (msg.sender != c.payer) revert NotPayer();
        if (st != State.Open) revert NotOpen();
        uint256 at = block.number + challengeBlocks;
        (c.closesAt, c.state) = (uint40(at), State.Closing);
        emit ChannelClosing(id, at);
    }

    /// @notice Returns deposit − paid to the payer once the challenge period is over (after
    ///         closesAt) or the channel has expired (after expiry). Anyone may call it.
    function settle(bytes32 id) external nonReentrant {
        Channel storage c = s_channels[id];
        State st = c.state;
        if (st == State.None) revert NoSuchChannel();
        if (st == State.Settled) revert ChannelSettledAlready();
        bool challengeOver = st == State.Closing && block.number > c.closesAt;
        if (!challengeOver && block.number <= c.expiry) revert ChallengePeriodNotOver();
        c.state = State.Settled;
        uint256 rest = uint256(c.deposit) - c.paid;
        emit ChannelSettled(id, rest);
        if (rest != 0) _send(c.payer, rest);
    }

    /// @notice The EIP-712 signing hash of a voucher for `id` at `cumulative` under this
    ///         contract's domain: what the payer signs.
    function voucherHash(bytes32 id, uint256 cumulative) public view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(VOUCHER_TYPEHASH, id, cumulative)));
    }

    /// @notice This contract's EIP-712 domain separator.
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    /// @notice A channel's state (State.None for an unknown id).
    function getChannel(bytes32 id)
        external
        view
        returns (
            address payer,
            address payee,
            uint256 deposit,
            uint256 paid,
            State state,
            uint256 closesAt,
            uint256 expiry
        )
    {
        Channel memory c = s_channels[id];
        return (c.payer, c.payee, c.deposit, c.paid, c.state, c.closesAt, c.expiry);
    }

    function _send(address to, uint256 amount) internal {
        (bool ok,) = to.call{value: amount}("");
        if (!ok) revert TransferFailed();
    }
}
