/* SMP under nestvisor's hypervisor: CPU 0 starts CPUs 1..3 with PSCI CPU_ON
   (context id = CPU number), each prints its MPIDR under a spinlock and
   counts itself in, then powers off with CPU_OFF; CPU 0 waits until
   AFFINITY_INFO reports every secondary off, checks the PSCI error codes,
   and powers the system off. */
#include "guest.h"

#define PSCI_VERSION 0x84000000UL
#define PSCI_CPU_OFF 0x84000002UL
#define PSCI_CPU_ON 0xC4000003UL
#define PSCI_AFFINITY_INFO 0xC4000004UL
#define PSCI_FEATURES 0x8400000AUL
#define NCPUS 4

extern void secondary_entry(void);

static long psci(unsigned long fn, unsigned long a1, unsigned long a2, unsigned long a3)
{
    register unsigned long x0 __asm__("x0") = fn;
    register unsigned long x1 __asm__("x1") = a1;
    register unsigned long x2 __asm__("x2") = a2;
    register unsigned long x3 __asm__("x3") = a3;
    __asm__ volatile("hvc #0" : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3) : : "memory");
    return (long)x0;
}

static volatile unsigned lock;
static volatile unsigned arrived;

static void take(void)
{
    while (__atomic_exchange_n(&lock, 1, __ATOMIC_ACQUIRE))
        __asm__ volatile("wfe");
}

static void give(void)
{
    __atomic_store_n(&lock, 0, __ATOMIC_RELEASE);
    __asm__ volatile("sev");
}

void secondary_main(unsigned long cpu)
{
    uint64_t mpidr = read_sysreg(mpidr_el1);
    uint64_t el = read_sysreg(CurrentEL) >> 2;
    uint64_t sctlr = read_sysreg(sctlr_el1);
    take();
    printf_uart("cpu %lu up: mpidr=%lx EL%lu mmu=%lu\n", cpu, mpidr, el, sctlr & 1);
    give();
    __atomic_add_fetch(&arrived, 1, __ATOMIC_SEQ_CST);
    psci(PSCI_CPU_OFF, 0, 0, 0);
    printf_uart("cpu %lu: CPU_OFF returned!\n", cpu);
}

int main(void)
{
    printf_uart("psci version %lx, CPU_ON feature %ld\n", psci(PSCI_VERSION, 0, 0, 0), psci(PSCI_FEATURES, PSCI_CPU_ON, 0, 0));
    for (unsigned long cpu = 1; cpu < NCPUS; cpu++) {
        long r = psci(PSCI_CPU_ON, cpu, (unsigned long)secondary_entry, cpu);
        take();
        printf_uart("CPU_ON(%lu) = %ld\n", cpu, r);
        give();
    }
    take();
    printf_uart("CPU_ON(1) again = %ld, CPU_ON(9) = %ld\n", psci(PSCI_CPU_ON, 1, (unsigned long)secondary_entry, 1), psci(PSCI_CPU_ON, 9, (unsigned long)secondary_entry, 9));
    give();
    for (;;) {
        int off = 0;
        for (unsigned long cpu = 1; cpu < NCPUS; cpu++)
            off += psci(PSCI_AFFINITY_INFO, cpu, 0, 0) == 1;
        if (off == NCPUS - 1)
            break;
        __asm__ volatile("wfe");
    }
    printf_uart("%u secondaries arrived, all off\n", arrived);
    return 0;
}
