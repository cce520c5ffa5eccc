// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title ServiceRegistry: where operators say what they serve, where, and at what price
/// @notice An operator (any address) registers one service record: its endpoint, its
///         roles, its region and its offers (a capability name and a price per unit;
///         e.g. a transcoding profile "h264/720p30" in wei per output pixel, or "relay" in
///         wei per MB). It may update the record and deregister; anyone may read every
///         record and enumerate the operators. Guarantees:
///
///  - Only an operator changes its own record; nothing else can.
///  - The operator list holds exactly the registered addresses (swap-and-pop on removal,
///    so enumeration order may change when someone deregisters).
///  - Records are bounded (endpoint, region and names in bytes, offers in count), so
///    reading one costs a bounded amount of gas.
///  - It holds no ETH: nothing in it is payable.
///
/// The registry states claims; it checks none of them (an endpoint may be wrong, a
/// price may be refused by the node itself). Stake (Staking) is what makes a claim costly.
contract ServiceRegistry {
    /// Roles, as a bit set (DESIGN.md §1).
    uint32 public constant ROLE_RELAY = 1;
    uint32 public constant ROLE_TRANSCODER = 2;
    uint32 public constant ROLE_ORCHESTRATOR = 4;
    uint32 public constant ROLE_BROADCASTER = 8;
    uint32 public constant ROLE_VALIDATOR = 16;
    uint32 public constant ALL_ROLES = 31;

    uint256 public constant MAX_ENDPOINT_BYTES = 256;
    uint256 public constant MAX_REGION_BYTES = 32;
    uint256 public constant MAX_NAME_BYTES = 64;
    uint256 public constant MAX_OFFERS = 32;

    struct Offer {
        string capability; // e.g. "h264/720p30", "relay"
        uint256 price; //     wei per unit of that capability (per output pixel, per MB, …)
    }

    struct Service {
        string endpoint; // e.g. "https://node.example:8443" or "host:port"
        string region; //   free-form, e.g. "eu-west"
        uint32 roles;
        uint64 updatedBlock;
        Offer[] offers;
    }

    mapping(address => Service) internal s_services;
    mapping(address => uint256) internal s_index1; // position in s_operators + 1; 0: not registered
    address[] internal s_operators;

    event ServiceRegistered(address indexed operator, string endpoint, uint32 roles);
    event ServiceUpdated(address indexed operator, string endpoint, uint32 roles);
    event ServiceDeregistered(address indexed operator);

    error AlreadyRegistered();
    error NotRegistered();
    error InvalidRoles();
    error EmptyEndpoint();
    error TooLong();
    error TooManyOffers();

    /// @notice Registers the caller's service. Reverts if it is already registered.
    function register(string calldata endpoint, string calldata region, uint32 roles, Offer[] calldata offers)
        external
    {
        if (s_index1[msg.sender] != 0) revert AlreadyRegistered();
        _write(endpoint, region, roles, offers);
        s_operators.push(msg.sender);
        s_index1[msg.sender] = s_operators.length;
        emit ServiceRegistered(msg.sender, endpoint, roles);
    }

    /// @notice Replaces the caller's record (endpoint, region, roles and all offers).
    function update(string calldata endpoint, string calldata region, uint32 roles, Offer[] calldata offers)
        external
    {
        if (s_index1[msg.sender] == 0) revert NotRegistered();
        _write(endpoint, region, roles, offers);
        emit ServiceUpdated(msg.sender, endpoint, roles);
    }

    /// @notice Removes the caller's record.
    function deregister() external {
        uint256 i1 = s_index1[msg.sender];
        if (i1 == 0) revert NotRegistered();
        address last = s_operators[s_operators.length - 1];
        s_operators[i1 - 1] = last;
        s_index1[last] = i1;
        s_operators.pop();
        delete s_index1[msg.sender];
        Service storage s = s_services[msg.sender];
        _clearOffers(s);
        delete s_services[msg.sender];
        emit ServiceDeregistered(msg.sender);
    }

    function _write(string calldata endpoint, string calldata region, uint32 roles, Offer[] calldata offers) internal {
        if (roles == 0 || roles & ~ALL_ROLES != 0) revert InvalidRoles();
        if (bytes(endpoint).length == 0) revert EmptyEndpoint();
        if (bytes(endpoint).length > MAX_ENDPOINT_BYTES || bytes(region).length > MAX_REGION_BYTES) revert TooLong();
        if (offers.length > MAX_OFFERS) revert TooManyOffers();
        Service storage s = s_services[msg.sender];
        s.endpoint = endpoint;
        s.region = region;
        s.roles = roles;
        s.updatedBlock = uint64(block.number);
        _clearOffers(s);
        for (uint256 i; i < offers.length; ++i) {
            if (bytes(offers[i].capability).length == 0 || bytes(offers[i].capability).length > MAX_NAME_BYTES) {
                revert TooLong();
            }
            s.offers.push(offers[i]);
        }
    }

    function _clearOffers(Service storage s) internal {
        // Clear each string's storage, not just the array length, so a later record cannot
        // read a previous record's leftovers.
        for (uint256 i = s.offers.length; i > 0; --i) s.offers.pop();
    }

    // ---- Views -----------------------------------------------------------------------

    /// @notice Whether `operator` has a record.
    function isRegistered(address operator) external view returns (bool) {
        return s_index1[operator] != 0;
    }

    /// @notice `operator`'s record; reverts NotRegistered when it has none.
    function getService(address operator) external view returns (Service memory) {
        if (s_index1[operator] == 0) revert NotRegistered();
        return s_services[operator];
    }

    /// @notice The price `operator` asks for `capability`; found false when it offers none.
    function priceOf(address operator, string calldata capability) external view returns (bool found, uint256 price) {
        Offer[] storage offers = s_services[operator].offers;
        bytes32 want = keccak256(bytes(capability));
        for (uint256 i; i < offers.length; ++i) {
            if (keccak256(bytes(offers[i].capability)) == want) return (true, offers[i].price);
        }
        return (false, 0);
    }

    /// @notice How many operators are registered.
    function operatorCount() external view returns (uint256) {
        return s_operators.length;
    }

    /// @notice Up to `limit` registered operators from position `start` (a page; order is
    ///         not stable across deregistrations).
    function operators(uint256 start, uint256 limit) external view returns (address[] memory page) {
        uint256 n = s_operators.length;
        if (start >= n) return new address[](0);
        uint256 end = n - start < limit ? n : start + limit;
        page = new address[](end - start);
        for (uint256 i = start; i < end; ++i) page[i - start] = s_operators[i];
    }
}
