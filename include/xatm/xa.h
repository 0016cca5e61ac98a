/* The X/Open XA interface (X/Open CAE Specification "Distributed Transaction Processing:
 * The XA Specification", C193): the XID structure, the xa_switch_t a resource manager
 * exports, the flags a transaction manager passes and the return codes it gets back.
 *
 * Every value here is the standard one, so a switch compiled against any other xa.h
 * interoperates with xatm. This header is plain C and names nothing of xatm's own. */
#ifndef XATM_XA_H_
#define XATM_XA_H_

#ifdef __cplusplus
extern "C" {
#endif

#define XIDDATASIZE 128 /* size in bytes of XID::data */
#define MAXGTRIDSIZE 64 /* maximum size in bytes of gtrid */
#define MAXBQUALSIZE 64 /* maximum size in bytes of bqual */

struct xid_t {
  long formatID;     /* format identifier; -1 means the null XID */
  long gtrid_length; /* 1..64 */
  long bqual_length; /* 0..64 */
  char data[XIDDATASIZE]; /* gtrid followed by bqual, not NUL-terminated */
};
typedef struct xid_t XID;

#define RMNAMESZ 32    /* length of a resource manager name, including the NUL */
#define MAXINFOSIZE 256 /* maximum size of xa_open/xa_close info strings, including the NUL */

struct xa_switch_t {
  char name[RMNAMESZ]; /* name of the resource manager */
  long flags;          /* resource manager specific options (TMREGISTER, ...) */
  long version;        /* must be 0 */
  int (*xa_open_entry)(char*, int, long);
  int (*xa_close_entry)(char*, int, long);
  int (*xa_start_entry)(XID*, int, long);
  int (*xa_end_entry)(XID*, int, long);
  int (*xa_rollback_entry)(XID*, int, long);
  int (*xa_prepare_entry)(XID*, int, long);
  int (*xa_commit_entry)(XID*, int, long);
  int (*xa_recover_entry)(XID*, long, int, long);
  int (*xa_forget_entry)(XID*, int, long);
  int (*xa_complete_entry)(int*, int*, int, long);
};

/* Flags of xa_switch_t::flags. */
#define TMNOFLAGS 0x00000000L   /* no resource manager features selected */
#define TMREGISTER 0x00000001L  /* resource manager dynamically registers */
#define TMNOMIGRATE 0x00000002L /* resource manager does not support association migration */
#define TMUSEASYNC 0x00000004L  /* resource manager supports asynchronous operations */

/* Flags passed to the xa_ routines. */
#define TMASYNC 0x80000000L      /* perform routine asynchronously */
#define TMONEPHASE 0x40000000L   /* caller is using one-phase commit optimisation */
#define TMFAIL 0x20000000L       /* dissociates caller and marks branch rollback-only */
#define TMNOWAIT 0x10000000L     /* return if blocking condition exists */
#define TMRESUME 0x08000000L     /* caller is resuming association with a suspended branch */
#define TMSUCCESS 0x04000000L    /* dissociate caller from transaction branch */
#define TMSUSPEND 0x02000000L    /* caller is suspending, not ending, association */
#define TMSTARTRSCAN 0x01000000L /* start a recovery scan */
#define TMENDRSCAN 0x00800000L   /* end a recovery scan */
#define TMMULTIPLE 0x00400000L   /* wait for any asynchronous operation */
#define TMJOIN 0x00200000L       /* caller is joining an existing branch */
#define TMMIGRATE 0x00100000L    /* caller intends to perform migration */

/* ax_ return codes (dynamic registration). */
#define TM_JOIN 2       /* caller is joining existing branch */
#define TM_RESUME 1     /* caller is resuming association with suspended branch */
#define TM_OK 0         /* normal execution */
#define TMER_TMERR (-1) /* an error occurred in the transaction manager */
#define TMER_INVAL (-2) /* invalid arguments were given */
#define TMER_PROTO (-3) /* routine invoked in an improper context */

/* xa_ return codes. */
#define XA_RBBASE 100                 /* the inclusive lower bound of the rollback codes */
#define XA_RBROLLBACK XA_RBBASE       /* rollback was caused by an unspecified reason */
#define XA_RBCOMMFAIL (XA_RBBASE + 1) /* rollback was caused by a communication failure */
#define XA_RBDEADLOCK (XA_RBBASE + 2) /* a deadlock was detected */
#define XA_RBINTEGRITY (XA_RBBASE + 3) /* a condition that violates the integrity of resources */
#define XA_RBOTHER (XA_RBBASE + 4)    /* the RM rolled back the branch for another reason */
#define XA_RBPROTO (XA_RBBASE + 5)    /* a protocol error occurred in the resource manager */
#define XA_RBTIMEOUT (XA_RBBASE + 6)  /* a transaction branch took too long */
#define XA_RBTRANSIENT (XA_RBBASE + 7) /* may retry the transaction branch */
#define XA_RBEND XA_RBTRANSIENT       /* the inclusive upper bound of the rollback codes */

#define XA_NOMIGRATE 9 /* resumption must occur where suspension occurred */
#define XA_HEURHAZ 8   /* the transaction branch may have been heuristically completed */
#define XA_HEURCOM 7   /* the transaction branch has been heuristically committed */
#define XA_HEURRB 6    /* the transaction branch has been heuristically rolled back */
#define XA_HEURMIX 5   /* the branch has been heuristically committed and rolled back */
#define XA_RETRY 4     /* routine returned with no effect and may be reissued */
#define XA_RDONLY 3    /* the transaction branch was read-only and has been committed */
#define XA_OK 0        /* normal execution */
#define XAER_ASYNC (-2)   /* asynchronous operation already outstanding */
#define XAER_RMERR (-3)   /* a resource manager error occurred in the transaction branch */
#define XAER_NOTA (-4)    /* the XID is not valid */
#define XAER_INVAL (-5)   /* invalid arguments were given */
#define XAER_PROTO (-6)   /* routine invoked in an improper context */
#define XAER_RMFAIL (-7)  /* resource manager unavailable */
#define XAER_DUPID (-8)   /* the XID already exists */
#define XAER_OUTSIDE (-9) /* resource manager doing work outside a global transaction */

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* XATM_XA_H_ */
