// SPDX-License-Identifier: MIT
//
// rseqkit: C++ per-CPU containers on the operations of <rseqkit/percpu.h>.
// See rseqkit.hpp(3).
//
//   thread_registration       RAII: registers the calling thread, drops only what it registered
//   percpu<T, Kind>           one cache-line-aligned T per index (possible CPU, or mm_cid)
//   percpu_counter<Kind>      add(n), sum()
//   percpu_stack<T, Kind, Tag>  intrusive LIFO per index; T derives from stack_hook<Tag>
//   percpu_buffer<T, Kind>    bounded array of T * per index
//
// Every operation is a restartable sequence retried with the pattern of percpu.h: a
// negative result (aborted, or stale index) re-reads the index and tries again.  When
// some thread of the process cannot run sequences the operations switch the process to
// locked mode themselves, so the containers stay exact there too (only slower).
// Memory is allocated by the constructors only; the operations never allocate, never
// throw, and are not async-signal-safe only in locked mode (they take a mutex).
//
// The header compiles as C++17 and later, with GCC and Clang, on any architecture.
#ifndef RSEQKIT_RSEQKIT_HPP
#define RSEQKIT_RSEQKIT_HPP

#include <errno.h>
#include <pthread.h>

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <new>
#include <type_traits>

#include <rseqkit/percpu.h>
#include <rseqkit/rseqkit.h>

namespace rseqkit {

// What a container's slots are indexed by (a template parameter, so that each container
// carries exactly one kind of sequence).
enum class index_kind : int {
	cpu_id = RSEQKIT_INDEX_CPU_ID,  // the CPU number; slots for every possible CPU
	mm_cid = RSEQKIT_INDEX_MM_CID,  // the thread's concurrency ID (Linux 6.3+); dense
};

// Slots are this far apart so that two indexes never share a cache line (128 on
// aarch64: several of its cores have 128-byte lines, or fetch lines in pairs).
#if defined(__aarch64__)
inline constexpr std::size_t cache_line = 128;
#else
inline constexpr std::size_t cache_line = 64;
#endif

// The operations are a few instructions around one sequence: inline them always.  The
// compilers' estimate of an asm statement's size counts the lines of its template, and
// the tables a sequence emits make it look large (measured: percpu_counter::add() left
// out of line costs 2.3 times as much as inlined).
#if defined(__GNUC__)
#define RSEQKIT_HPP_INLINE __attribute__((always_inline)) inline
#else
#define RSEQKIT_HPP_INLINE inline
#endif

namespace detail {
constexpr rseqkit_index c_kind(index_kind k) noexcept { return static_cast<rseqkit_index>(k); }
}  // namespace detail

// The index of the calling thread for kind K: what the containers use.
template <index_kind K> inline int current_index() noexcept
{
	return rseqkit_current_index(detail::c_kind(K));
}

// Registers the calling thread in its constructor (rseqkit_register_current_thread())
// and, in its destructor, unregisters it only if this guard is what made rseqkit
// register it (never glibc's area, never an outer guard's or a co-owner's registration).
// Create and destroy it on one thread; on another thread the destructor does nothing.
class thread_registration {
public:
	thread_registration() noexcept : thread_(pthread_self())
	{
		const rseqkit_owner before = rseqkit_thread_owner();
		if (before == RSEQKIT_OWNER_GLIBC || before == RSEQKIT_OWNER_RSEQKIT) {
			owner_ = before;
			return;
		}
		if (rseqkit_register_current_thread() != 0)
			error_ = errno;
		owner_ = rseqkit_thread_owner();
		ours_ = before == RSEQKIT_OWNER_NONE && owner_ == RSEQKIT_OWNER_RSEQKIT;
	}

	~thread_registration()
	{
		if (ours_ && pthread_equal(thread_, pthread_self()))
			(void)rseqkit_unregister_current_thread();
	}

	thread_registration(const thread_registration &) = delete;
	thread_registration &operator=(const thread_registration &) = delete;

	// Owner of the thread's area after the constructor ran.
	rseqkit_owner owner() const noexcept { return owner_; }
	// Whether the thread can run sequences (owner GLIBC or RSEQKIT).
	bool usable() const noexcept { return owner_ == RSEQKIT_OWNER_GLIBC || owner_ == RSEQKIT_OWNER_RSEQKIT; }
	// errno of a failed registration (EBUSY, ENOSYS, EPERM, ...), or 0.
	int error() const noexcept { return error_; }
	// Whether the destructor will unregister.
	bool owns_registration() const noexcept { return ours_; }

private:
	pthread_t thread_;
	rseqkit_owner owner_ = RSEQKIT_OWNER_NONE;
	int error_ = 0;
	bool ours_ = false;
};

// One T per index (rseqkit_index_count() of them), each on cache lines of its own.
// T must be default-constructible without throwing; slots are value-initialized.
// operator[] takes an index from current_index<Kind>() (or any below size()); what a
// thread does with its slot outside an operation of percpu.h is not protected.
template <class T, index_kind Kind = index_kind::cpu_id> class percpu {
	static_assert(std::is_nothrow_default_constructible_v<T>, "rseqkit::percpu<T>: T() must not throw");
	static constexpr std::size_t slot_align = alignof(T) > cache_line ? alignof(T) : cache_line;
	struct alignas(slot_align) slot {
		T value{};
	};

public:
	using value_type = T;
	static constexpr index_kind kind = Kind;

	percpu() : count_(static_cast<std::size_t>(rseqkit_index_count()))
	{
		slots_ = static_cast<slot *>(::operator new(count_ * sizeof(slot), std::align_val_t(slot_align)));
		for (std::size_t i = 0; i < count_; ++i)
			::new (static_cast<void *>(&slots_[i])) slot();
	}

	~percpu()
	{
		for (std::size_t i = 0; i < count_; ++i)
			slots_[i].~slot();
		::operator delete(slots_, std::align_val_t(slot_align));
	}

	percpu(const percpu &) = delete;
	percpu &operator=(const percpu &) = delete;

	// Number of slots: rseqkit_index_count().
	std::size_t size() const noexcept { return count_; }
	T &operator[](int index) noexcept { return slots_[index].value; }
	const T &operator[](int index) const noexcept { return slots_[index].value; }
	// The slot of the calling thread's current index (it may have moved on when this returns).
	T &local() noexcept { return (*this)[current_index<Kind>()]; }

	template <bool Const> class basic_iterator {
	public:
		using value_type = T;
		using reference = std::conditional_t<Const, const T &, T &>;
		using pointer = std::conditional_t<Const, const T *, T *>;
		using difference_type = std::ptrdiff_t;
		using iterator_category = std::forward_iterator_tag;
		using slot_pointer = std::conditional_t<Const, const slot *, slot *>;
		basic_iterator() noexcept = default;
		explicit basic_iterator(slot_pointer s) noexcept : s_(s) {}
		reference operator*() const noexcept { return s_->value; }
		pointer operator->() const noexcept { return &s_->value; }
		basic_iterator &operator++() noexcept { ++s_; return *this; }
		basic_iterator operator++(int) noexcept { basic_iterator old = *this; ++s_; return old; }
		bool operator==(const basic_iterator &o) const noexcept { return s_ == o.s_; }
		bool operator!=(const basic_iterator &o) const noexcept { return s_ != o.s_; }

	private:
		slot_pointer s_ = nullptr;
	};
	using iterator = basic_iterator<false>;
	using const_iterator = basic_iterator<true>;
	iterator begin() noexcept { return iterator(slots_); }
	iterator end() noexcept { return iterator(slots_ + count_); }
	const_iterator begin() const noexcept { return const_iterator(slots_); }
	const_iterator end() const noexcept { return const_iterator(slots_ + count_); }

private:
	slot *slots_;
	std::size_t count_;
};

// A counter split in per-index parts: add() is one sequence on the caller's part,
// sum() reads every part (a value the counter had, if no add() runs meanwhile).
template <index_kind Kind = index_kind::cpu_id> class percpu_counter {
public:
	static constexpr index_kind kind = Kind;

	RSEQKIT_HPP_INLINE void add(std::intptr_t n) noexcept
	{
		constexpr rseqkit_index k = detail::c_kind(Kind);
		for (;;) {
			const int i = rseqkit_current_index(k);
			if (rseqkit_percpu_add(k, &parts_[i], n, i) >= 0)
				return;
		}
	}

	std::intptr_t sum() const noexcept
	{
		// Unsigned: parts may wrap one way and others back.
		std::uintptr_t s = 0;
		for (const std::intptr_t &p : parts_)
			s += static_cast<std::uintptr_t>(__atomic_load_n(&p, __ATOMIC_RELAXED));
		return static_cast<std::intptr_t>(s);
	}

	// The parts, one per index (for reports; reading them races with add()).
	const percpu<std::intptr_t, Kind> &parts() const noexcept { return parts_; }

private:
	percpu<std::intptr_t, Kind> parts_;
};

template <class T, index_kind Kind, class Tag> class percpu_stack;

// The link a percpu_stack keeps in each node: derive T from stack_hook<Tag> (one base per
// stack a node can be in at a time, told apart by Tag).  A node is in at most one stack
// of a given Tag at a time.
template <class Tag = void> class stack_hook {
	template <class, index_kind, class> friend class percpu_stack;
	// The next node's hook, as the operations store it (an integer: they store words).
	std::intptr_t rseqkit_next_ = 0;
};

// An intrusive LIFO per index.  push() puts a node on the caller's current stack, pop()
// takes the top of the caller's current stack, or returns nullptr when that one is empty
// (other indexes may hold nodes).  Nodes are never copied or freed by the stack.
template <class T, index_kind Kind = index_kind::cpu_id, class Tag = void> class percpu_stack {
	using hook = stack_hook<Tag>;
	static_assert(std::is_base_of_v<hook, T>, "rseqkit::percpu_stack<T, Kind, Tag>: T must derive from rseqkit::stack_hook<Tag>");

public:
	static constexpr index_kind kind = Kind;

	RSEQKIT_HPP_INLINE void push(T *node) noexcept
	{
		constexpr rseqkit_index k = detail::c_kind(Kind);
		hook *h = node;
		const std::intptr_t self = reinterpret_cast<std::intptr_t>(h);
		for (;;) {
			const int i = rseqkit_current_index(k);
			std::intptr_t *head = &heads_[i];
			const std::intptr_t top = __atomic_load_n(head, __ATOMIC_RELAXED);
			// node->next = top; head = node, if head is still top (release: the link
			// is visible before the node is).
			if (rseqkit_percpu_store_store_if_eq(k, RSEQKIT_MO_RELEASE, head, top, &h->rseqkit_next_, top, self,
							     i) == RSEQKIT_COMMITTED)
				return;
		}
	}

	RSEQKIT_HPP_INLINE T *pop() noexcept
	{
		constexpr rseqkit_index k = detail::c_kind(Kind);
		for (;;) {
			const int i = rseqkit_current_index(k);
			std::intptr_t node = 0;
			const int r = rseqkit_percpu_pop_if_ne(k, &heads_[i], 0, link_offset(), &node, i);
			if (r == RSEQKIT_COMMITTED)
				return static_cast<T *>(reinterpret_cast<hook *>(node));
			if (r == RSEQKIT_COMPARE_FAILED)
				return nullptr;
		}
	}

	// Whether every index's stack was empty when looked at.
	bool empty() const noexcept
	{
		for (const std::intptr_t &h : heads_)
			if (__atomic_load_n(&h, __ATOMIC_RELAXED) != 0)
				return false;
		return true;
	}

	// Empties every index's stack, calling f(T *) on each node, top first.  Only while no
	// other thread uses the stack (e.g. after joining them, or before destroying it).
	// Returns the number of nodes.
	template <class F> std::size_t drain(F &&f)
	{
		std::size_t n = 0;
		for (std::intptr_t &head : heads_) {
			std::intptr_t cur = head;
			head = 0;
			while (cur != 0) {
				hook *h = reinterpret_cast<hook *>(cur);
				cur = h->rseqkit_next_;
				h->rseqkit_next_ = 0;
				f(static_cast<T *>(h));
				++n;
			}
		}
		return n;
	}

private:
	static long link_offset() noexcept { return static_cast<long>(offsetof(hook, rseqkit_next_)); }
	percpu<std::intptr_t, Kind> heads_;
};

// A bounded array of T * per index, `capacity` entries each, used as a LIFO: push()
// fails (false) when the caller's current array is full, pop() returns nullptr when it
// is empty.  The arrays are allocated by the constructor.
template <class T, index_kind Kind = index_kind::cpu_id> class percpu_buffer {
	struct area {
		std::intptr_t top = 0;  // address of the first free entry; base when empty
		std::intptr_t base = 0;
		std::intptr_t end = 0;  // base + capacity entries
	};

public:
	static constexpr index_kind kind = Kind;

	explicit percpu_buffer(std::size_t capacity)
		: capacity_(capacity), stride_(round_up(capacity ? capacity : 1))
	{
		// Each index's entries start on a cache line of their own.
		storage_ = static_cast<std::intptr_t *>(::operator new(areas_.size() * stride_ * sizeof(std::intptr_t),
								       std::align_val_t(cache_line)));
		for (std::size_t i = 0; i < areas_.size(); ++i) {
			area &a = areas_[static_cast<int>(i)];
			a.base = reinterpret_cast<std::intptr_t>(storage_ + i * stride_);
			a.top = a.base;
			a.end = a.base + static_cast<std::intptr_t>(capacity_ * sizeof(std::intptr_t));
		}
	}

	~percpu_buffer() { ::operator delete(storage_, std::align_val_t(cache_line)); }

	percpu_buffer(const percpu_buffer &) = delete;
	percpu_buffer &operator=(const percpu_buffer &) = delete;

	std::size_t capacity() const noexcept { return capacity_; }

	RSEQKIT_HPP_INLINE bool push(T *item) noexcept
	{
		constexpr rseqkit_index k = detail::c_kind(Kind);
		const std::intptr_t value = reinterpret_cast<std::intptr_t>(item);
		for (;;) {
			const int i = rseqkit_current_index(k);
			area &a = areas_[i];
			const std::intptr_t top = __atomic_load_n(&a.top, __ATOMIC_RELAXED);
			if (top == a.end) {
				if (rseqkit_current_index(k) == i)
					return false;
				continue;  // that was another index's array
			}
			// *top = item; top += 1 entry, if top has not moved (release: the entry is
			// visible before the new top).
			if (rseqkit_percpu_store_store_if_eq(k, RSEQKIT_MO_RELEASE, &a.top, top,
							     reinterpret_cast<std::intptr_t *>(top), value,
							     top + static_cast<std::intptr_t>(sizeof(std::intptr_t)),
							     i) == RSEQKIT_COMMITTED)
				return true;
		}
	}

	RSEQKIT_HPP_INLINE T *pop() noexcept
	{
		constexpr rseqkit_index k = detail::c_kind(Kind);
		for (;;) {
			const int i = rseqkit_current_index(k);
			area &a = areas_[i];
			const std::intptr_t top = __atomic_load_n(&a.top, __ATOMIC_RELAXED);
			if (top == a.base) {
				if (rseqkit_current_index(k) == i)
					return nullptr;
				continue;
			}
			// Copies the last entry out inside the sequence, so that it is the entry
			// below `top` while top is unchanged (a pop and a push in between would
			// leave top as it was and change the entry).
			const std::intptr_t below = top - static_cast<std::intptr_t>(sizeof(std::intptr_t));
			std::intptr_t out = 0;
			if (rseqkit_percpu_memcpy_store_if_eq(k, RSEQKIT_MO_RELAXED, &a.top, top, &out,
							      reinterpret_cast<const void *>(below), sizeof(out), below,
							      i) == RSEQKIT_COMMITTED)
				return reinterpret_cast<T *>(out);
		}
	}

	// Entries in all arrays when looked at.
	std::size_t size() const noexcept
	{
		std::size_t n = 0;
		for (const area &a : areas_)
			n += static_cast<std::size_t>(__atomic_load_n(&a.top, __ATOMIC_RELAXED) - a.base) /
			     sizeof(std::intptr_t);
		return n;
	}

	// Empties every array, calling f(T *) on each entry, last pushed first.  Only while
	// no other thread uses the buffer.  Returns the number of entries.
	template <class F> std::size_t drain(F &&f)
	{
		std::size_t n = 0;
		for (area &a : areas_) {
			while (a.top != a.base) {
				a.top -= static_cast<std::intptr_t>(sizeof(std::intptr_t));
				f(reinterpret_cast<T *>(*reinterpret_cast<std::intptr_t *>(a.top)));
				++n;
			}
		}
		return n;
	}

private:
	static constexpr std::size_t per_line = cache_line / sizeof(std::intptr_t);
	static constexpr std::size_t round_up(std::size_t n) noexcept { return (n + per_line - 1) / per_line * per_line; }

	percpu<area, Kind> areas_;
	std::size_t capacity_;
	std::size_t stride_;
	std::intptr_t *storage_ = nullptr;
};

}  // namespace rseqkit

#endif  // RSEQKIT_RSEQKIT_HPP
